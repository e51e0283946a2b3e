"""``keukentafel doctor``: is everything in place for one corporation, checked one thing at a time.

Part of the composition root (it knows the adapters): the corporation file, the secrets it
names, the ERP (a token or key accepted, the first page of each endpoint the sync reads), Microsoft
365 (a token, then one small GET per thing used: the shared mailbox's Sent Items, the team's
list), the store (migrated to the newest schema; the doctor never migrates it) and the Prefect
API (when ``PREFECT_API_URL`` is set). Each check gives one line with what is wrong in operator
language, never a secret's value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from keukentafel.config import CorporationFile
    from keukentafel.settings import Settings


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str


def _run(name: str, check: Callable[[], str]) -> Check:
    """A check that returns its detail when it passes and raises when it does not."""
    try:
        return Check(name, True, check())
    except Exception as exc:  # the doctor reports every failure and goes on
        text = " ".join(str(exc).split()) or type(exc).__name__
        return Check(name, False, text)


def diagnose(settings: Settings, path: Path) -> list[Check]:
    """Every check for the corporation file at ``path``; later checks that need the file are
    reported as not run when it is not valid."""
    from keukentafel.bootstrap import CorporationRegistry

    checks: list[Check] = []
    corp: CorporationFile | None = None
    try:
        corp = CorporationRegistry.from_files([path]).single()
        checks.append(Check("corporation file", True, f"{path}: {corp.code} is valid"))
    except Exception as exc:
        checks.append(Check("corporation file", False, " ".join(str(exc).split())))
    if corp is not None:
        checks.append(_run("secrets", lambda: _secrets(settings, corp)))
        checks.append(_run("ERP", lambda: _erp(settings, corp)))
        if corp.m365 is not None:
            checks.append(_run("Microsoft 365", lambda: _m365(settings, corp)))
    else:
        checks.append(Check("secrets, ERP, Microsoft 365", False, "not checked: fix the file"))
    checks.append(_run("store", lambda: _store(settings)))
    checks.append(_run("Prefect API", lambda: _prefect(settings)))
    return checks


def _secrets(settings: Settings, corp: CorporationFile) -> str:
    from keukentafel.config.secrets import describe_missing, missing_secrets, named_secrets

    missing = missing_secrets(corp, settings.environ)
    if missing:
        raise LookupError(describe_missing(missing))
    return f"{len(list(named_secrets(corp)))} named, all set"


def _erp(settings: Settings, corp: CorporationFile) -> str:
    if corp.source.vera is None:
        assert corp.source.spreadsheet is not None
        files = [Path(corp.source.spreadsheet.path)]
        absent = [str(f) for f in files if not f.exists()]
        if absent:
            raise FileNotFoundError(f"the ERP export is not there: {', '.join(absent)}")
        return f"spreadsheet export {files[0]} is there"
    from connectors.erp.vera.client import AGREEMENTS, RELATIONS, UNITS, VeraClient

    vera = corp.source.vera
    with VeraClient(vera.model_copy(update={"max_retries": 0}), env=settings.environ) as client:
        for endpoint in (UNITS, RELATIONS, AGREEMENTS):
            next(iter(client.iter_pages(endpoint)), None)
    how = "token obtained" if vera.auth.mode == "oauth2" else "key accepted"
    return f"VERA at {vera.base_url}: {how}, {UNITS}, {RELATIONS} and {AGREEMENTS} readable"


def _m365(settings: Settings, corp: CorporationFile) -> str:
    from connectors.m365.auth import GraphAuth
    from connectors.m365.graph import GraphClient

    m365 = corp.m365
    assert m365 is not None
    auth = GraphAuth(m365, settings.environ)
    client = GraphClient(auth, m365.model_copy(update={"max_retries": 0}))
    done = ["token obtained"]
    try:
        if m365.mailbox:
            client.get(
                f"/users/{m365.mailbox}/mailFolders/SentItems/messages",
                {"$top": "1", "$select": "id"},
            )
            done.append(f"the mailbox {m365.mailbox}'s Sent Items readable")
        if m365.contact_list is not None:
            site, items = m365.contact_list.site_id, m365.contact_list.list_id
            client.get(f"/sites/{site}/lists/{items}/items", {"$top": "1"})
            done.append("the team's list readable")
    finally:
        client.close()
    return ", ".join(done)


def _store(settings: Settings) -> str:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from keukentafel.settings import _without_password
    from keukentafel.store.db import alembic_config, make_engine

    engine = make_engine(settings.database_url)
    try:
        heads = set(ScriptDirectory.from_config(alembic_config(engine)).get_heads())
        with engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
    finally:
        engine.dispose()
    where = _without_password(settings.database_url)
    if current != heads:
        have = ", ".join(sorted(current)) or "empty"
        raise RuntimeError(
            f"{where} is at {have}, not {', '.join(sorted(heads))}: any command migrates it "
            "(e.g. keukentafel register)"
        )
    return f"{where} migrated ({', '.join(sorted(heads))})"


def _prefect(settings: Settings) -> str:
    if not settings.prefect_api_url:
        return "not configured (PREFECT_API_URL): commands run without Prefect"
    import requests

    url = settings.prefect_api_url.rstrip("/") + "/health"
    user, _, password = settings.environ.get("PREFECT_API_AUTH_STRING", "").partition(":")
    response = requests.get(url, timeout=5, auth=(user, password) if user else None)
    if response.status_code != 200:
        raise ConnectionError(f"{url} answered HTTP {response.status_code}")
    return f"{settings.prefect_api_url} answers"
