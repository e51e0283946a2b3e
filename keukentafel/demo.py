"""The demo: every capability built so far, end to end, on generated residents.

It starts the fake servers (a VERA ERP and a Microsoft 365 tenant), writes an effective corporation
file that points at them, and runs the real flows in Prefect's ephemeral mode on one App
(keukentafel/bootstrap.py) whose store, a local SQLite file, and output are under the demo folder.
Its settings come from the command line; the fake servers' secrets go into the settings' own
snapshot of the environment, never into the process environment. Nothing here is used in
production. It prints through keukentafel/cli/present.py.

``config/demo.yaml`` and the mailing content come from the sample configuration shipped with the
package (``sample_config``), so the demo runs from a plain ``pip install`` as from a checkout.
"""

from __future__ import annotations

import re
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import yaml
from rich.console import Console
from rich.rule import Rule

from keukentafel.settings import Settings, quiet_prefect_defaults

if TYPE_CHECKING:
    from connectors.fakes.contractor import FakeContractor
    from connectors.fakes.m365 import FakeMicrosoft365
    from connectors.fakes.vera_server import FakeVeraServer
    from keukentafel.bootstrap import App
    from keukentafel.domain.model import Household, Resident


def sample_config() -> Path:
    """The sample configuration folder: ``config/`` of the repository, shipped as package data
    (``keukentafel/sample_config``, mapped by setup.py); in a checkout, the folder itself."""
    packaged = Path(str(resources.files("keukentafel") / "sample_config"))
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[1] / "config"


API_KEY_ENV = "KEUKENTAFEL_DEMO_VERA_API_KEY"
M365_SECRET_ENV = "KEUKENTAFEL_DEMO_M365_SECRET"  # noqa: S105 - the name of a variable
LINK_SECRET_ENV = "KEUKENTAFEL_LINK_SECRET"  # noqa: S105 - the name of a variable
# The renovation's contractor (config/demo.yaml, feeds): its webhook secret, pull token and the
# secret it signs its own messages with. Names of variables; the values are made per demo run.
CONTRACTOR_WHSEC_ENV = "KEUKENTAFEL_DEMO_BOUWBV_WHSEC"
CONTRACTOR_TOKEN_ENV = "KEUKENTAFEL_DEMO_BOUWBV_TOKEN"  # noqa: S105
CONTRACTOR_INBOUND_ENV = "KEUKENTAFEL_DEMO_BOUWBV_INBOUND"


def demo_settings(settings: Settings, out_dir: Path, secrets_by_name: dict[str, str]) -> Settings:
    """The store, local state and output under the demo folder; the fake servers' secrets (and a
    link secret, unless one is set) in the settings' snapshot of the environment."""
    environ = {**settings.environ, **secrets_by_name}  # the fakes' own secrets always win
    environ.setdefault(LINK_SECRET_ENV, secrets.token_urlsafe(32))
    return replace(
        settings,
        database_url=f"sqlite:///{out_dir / 'keukentafel.db'}",
        data_dir=out_dir / "data",
        output_dir=out_dir,
        environ=MappingProxyType(environ),
    )


def _effective_config(
    out_dir: Path, vera_url: str, tenant: FakeMicrosoft365, hook_url: str = ""
) -> Path:
    data = yaml.safe_load((sample_config() / "demo.yaml").read_text(encoding="utf-8"))
    data["source"]["vera"]["base_url"] = vera_url
    for contractor in (data.get("feeds") or {}).get("contractors", []):
        if contractor.get("webhook") and hook_url:
            contractor["webhook"]["url"] = hook_url
    data["m365"].update(
        authority_host=tenant.authority_host,
        graph_base_url=tenant.graph_base_url,
        ca_bundle=tenant.ca_bundle_path,
        client_secret_env=M365_SECRET_ENV,
    )
    path = out_dir / "demo.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def run_demo(console: Console, settings: Settings, *, out_dir: Path, units: int = 600) -> None:
    out_dir = out_dir.resolve()
    if out_dir.exists():
        shutil.rmtree(out_dir)  # the demo starts from nothing every time
    out_dir.mkdir(parents=True)
    # Prefect's ephemeral database and log level, before Prefect is first imported.
    quiet_prefect_defaults(prefect_home=out_dir / ".prefect")

    from connectors.fakes.contractor import FakeContractor
    from connectors.fakes.vera_data import generate_dataset
    from connectors.fakes.vera_server import FakeVeraServer
    from keukentafel.bootstrap import CorporationRegistry, build, installed
    from keukentafel.domain.planning.webhooks import secret_text

    dataset = generate_dataset(units, seed=2, complexes=5)
    api_key, m365_secret = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    hook_secret, inbound_secret = (
        secret_text(secrets.token_bytes(32)),
        secret_text(secrets.token_bytes(32)),
    )
    fakes = {
        API_KEY_ENV: api_key,
        M365_SECRET_ENV: m365_secret,
        CONTRACTOR_WHSEC_ENV: hook_secret,
        CONTRACTOR_TOKEN_ENV: secrets.token_urlsafe(24),
        CONTRACTOR_INBOUND_ENV: inbound_secret,
    }
    with (
        FakeVeraServer(dataset, api_key=api_key) as vera,
        _fake_tenant(m365_secret) as tenant,
        FakeContractor([hook_secret]) as contractor,
    ):
        config_path = _effective_config(out_dir, vera.url, tenant, contractor.hook_url)
        corporations = CorporationRegistry.from_files([config_path])
        app_settings = replace(demo_settings(settings, out_dir, fakes), config_path=config_path)
        with build(app_settings, corporations=corporations) as app, installed(app):
            _steps(console, app, dataset, vera.url, tenant, vera=vera, contractor=contractor)
    console.print(
        "\nThe commands read the demo's store when pointed at it, e.g.:\n"
        f"  KEUKENTAFEL_DATABASE_URL={app_settings.database_url} "
        f"keukentafel register --config {config_path}",
        highlight=False,
        soft_wrap=True,
    )
    console.print(f"\nDemo output and store: {out_dir}")


def _run(console: Console, app: App, job: str, code: str, **params: Any) -> Any:
    """Run a job as the commands do (flows/launch.py: on Prefect when a server is configured,
    else on its own); a run that did not complete says why in one line, and the demo goes on."""
    from flows.launch import launch

    if job == "mailing":
        params.setdefault("started_by", "demo:operator")
    outcome = launch(job, app, code, **params)
    if not outcome.ok:
        console.print(f"[yellow]{outcome.state}:[/yellow] {outcome.message}", highlight=False)
    return outcome.value


# Kept whole: the demo's script, read top to bottom, one numbered step after another.
def _steps(
    console: Console,
    app: App,
    dataset: Any,
    vera_url: str,
    tenant: FakeMicrosoft365,
    *,
    vera: FakeVeraServer | None = None,
    contractor: FakeContractor | None = None,
) -> None:
    from keukentafel.cli.present import (
        print_delivery,
        print_mailing,
        print_register,
        print_sync_summary,
        print_team_pull,
    )

    config = app.corporations.single()
    code = config.code
    console.print(Rule("1. Register sync from the corporation's ERP (fake VERA server)"))
    console.print(
        f"Fake ERP at {vera_url}: {len(dataset.units)} units, {len(dataset.relations)} relations, "
        f"{len(dataset.leases)} agreements; projects select complexes {', '.join(config.complexes())}."
    )
    print_sync_summary(_run(console, app, "sync", code))

    console.print(Rule("2. A week later: the ERP changed (and one row is broken)"))
    for line in _week_of_changes(
        dataset.units, dataset.relations, dataset.leases, config.complexes()
    ):
        console.print(f"  - {line}")
    print_sync_summary(_run(console, app, "sync", code))

    console.print(Rule("3. The same sync again: nothing changed, nothing written"))
    print_sync_summary(_run(console, app, "sync", code))

    console.print(Rule("4. The register per project and complex"))
    print_register(app.summarise(code, app.today()))

    console.print(Rule("5. The guidance team's SharePoint list (fake Microsoft 365, real msal)"))
    _seed_team_list(tenant, app, code)
    print_team_pull(_run(console, app, "team", code))

    console.print(
        Rule("6. A mailing: invitation to an information evening (letters, e-mail, agenda)")
    )
    print_mailing(
        _run(
            console,
            app,
            "mailing",
            code,
            project_code="HAVEN-SLOOP",
            kind="info_evening",
            content_path=str(sample_config() / "mailings" / "havenkwartier-info_evening.yaml"),
        )
    )
    mailbox = app.m365(config).mailbox
    assert mailbox is not None
    sent = tenant.state.messages(mailbox, "SentItems")
    console.print(f"The shared mailbox's Sent Items now hold {len(sent)} message(s).")

    console.print(Rule("7. The outbox again: everything went out already, nothing is sent twice"))
    print_delivery(_run(console, app, "dispatch", code))
    again = tenant.state.messages(mailbox, "SentItems")
    console.print(f"Sent Items: still {len(again)} message(s).")

    _step_correction(console, app, tenant, code)
    _register_as_data(console, app, code)
    _access_export_step(console, app, code)
    _purge_step(console, app, code)
    _step_consent_answers(console, app, code)
    _step_consent_tally(console, app, code)
    _step_consent_notice(console, app, code)
    if vera is not None and contractor is not None:
        console.print(Rule("15. The renovation's contractor: appointments, feeds, a delay"))
        _contractor_feed(console, app, vera, contractor)
    _step_web_page(console, app, code)
    _step_consent_report(console, app, code)


PURGED_PROJECT = "HAVEN-SLOOP"  # the demo's closed project in step 11


def _access_export_step(console: Console, app: App, code: str) -> None:
    """10. One household of the mailing asks what is held on them: JSON and PDF, audited."""
    from keukentafel.cli.present import print_export
    from keukentafel.domain.model import ContactKind

    console.print(Rule("10. An access request: everything held on one household (JSON and PDF)"))
    complexes = app.corporation(code).project(PURGED_PROJECT).complex_codes
    household = next(
        h
        for h in app.households(code, app.today())
        if h.unit.complex_code in complexes
        and any(r.contact(ContactKind.EMAIL) for r in h.residents)
    )
    print_export(
        app.export_household(code, household.unit.code, on=app.today(), actor="demo:operator")
    )


def _purge_step(console: Console, app: App, code: str) -> None:
    """11. Two years after the demolition project ended, on a copy of the demo's store and output
    (later steps keep the demo's own data): the purge, and the purge again."""
    from keukentafel.bootstrap import CorporationRegistry, build
    from keukentafel.cli.present import print_purge

    console.print(
        Rule(f"11. Two years after {PURGED_PROJECT} ended: the purge (on a copy of the store)")
    )
    later = app.settings.output_dir / "two-years-later"
    config_path = _closed_copy(app, code, later)
    settings = replace(
        app.settings, database_url=f"sqlite:///{later / 'keukentafel.db'}", output_dir=later
    )
    with build(settings, corporations=CorporationRegistry.from_files([config_path])) as copy:
        project = next(p for p in copy.corporation(code).retention() if p.code == PURGED_PROJECT)
        assert project.keep_until is not None
        on = project.keep_until + timedelta(days=1)
        console.print(
            f"{PURGED_PROJECT} ended on {project.end_date}; its residents' data is kept "
            f"{project.retention_months} months, until {project.keep_until}. The purge runs on {on}."
        )
        print_purge(copy.purge_personal_data(code, on=on, actor="demo:operator"))
        again = copy.purge_personal_data(code, on=on, actor="demo:operator")
        console.print(f"The purge again: {again.removed} more item(s) removed.")


def _closed_copy(app: App, code: str, folder: Path) -> Path:
    """Copy the demo's store and output under ``folder`` and write a corporation file in which
    the demolition project ended today; returns that file."""
    import sqlite3

    folder.mkdir(parents=True)
    source = Path(app.settings.database_url.split("///", 1)[1])  # the demo's SQLite file
    with sqlite3.connect(source) as src, sqlite3.connect(folder / "keukentafel.db") as dst:
        src.backup(dst)  # a consistent copy, also of what is still in the write-ahead log
    for part in ("mailings", "privacy"):
        if (app.settings.output_dir / part).is_dir():
            shutil.copytree(app.settings.output_dir / part, folder / part)
    data = yaml.safe_load(app.corporations.path(code).read_text(encoding="utf-8"))
    for project in data["projects"]:
        if project["code"] == PURGED_PROJECT:
            project.update(end_date=app.today().isoformat(), retention_months=24)
    path = folder / "closed.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def _register_as_data(console: Console, app: App, code: str) -> None:
    """Step 9: the register as data for the corporation (``register --format json``)."""
    from keukentafel.cli.present import print_register_data
    from keukentafel.domain.model import amsterdam_date

    console.print(Rule("9. The register as data for the corporation (register --format json)"))
    print_register_data(app.export_register(code, amsterdam_date(app.clock())))


def _step_correction(console: Console, app: App, tenant: FakeMicrosoft365, code: str) -> None:
    """Step 8: the evening moves; everyone who had the invitation gets an update."""
    from keukentafel.cli.present import print_correction, print_mailing, print_skipped

    console.print(
        Rule("8. The evening starts half an hour later: an update to everyone who had it")
    )
    first = app.outbox_counts(code)
    outcome = _run(
        console,
        app,
        "mailing",
        code,
        project_code="HAVEN-SLOOP",
        kind="info_evening",
        content_path=str(sample_config() / "mailings" / "havenkwartier-info_evening-verzet.yaml"),
    )
    print_mailing(outcome)
    print_skipped(outcome)
    mailings = sorted((app.settings.output_dir / "mailings").iterdir())
    original = next(m for m in mailings if not m.name.endswith("-verzet"))
    print_correction(outcome, _printed_pages(original))
    mailbox = app.m365(app.corporations.single()).mailbox
    assert mailbox is not None
    sent = tenant.state.messages(mailbox, "SentItems")
    console.print(
        f"Sent Items now hold {len(sent)} message(s) ({sum(first.values())} before the update)."
    )


def _printed_pages(folder: Path) -> int:
    """The pages of a written mailing's print batch, from its manifest."""
    import csv

    manifest = next(folder.glob("*-manifest.csv")).read_text(encoding="utf-8-sig")
    return sum(int(row["paginas"]) for row in csv.DictReader(manifest.splitlines(), delimiter=";"))


@contextmanager
def _fake_tenant(client_secret: str) -> Iterator[FakeMicrosoft365]:
    """A fake Entra ID + Graph on 127.0.0.1 (https, test CA) for the demo file's tenant."""
    from connectors.fakes.m365 import FakeMicrosoft365

    m365 = yaml.safe_load((sample_config() / "demo.yaml").read_text(encoding="utf-8"))["m365"]
    fake = FakeMicrosoft365(
        tenant_id=m365["tenant_id"], client_id=m365["client_id"], client_secret=client_secret
    )
    fake.state.add_mailbox(m365["mailbox"])
    for upn in m365.get("staff_calendars", []):
        fake.state.add_mailbox(upn)
    with fake:
        yield fake


def _seed_team_list(tenant: FakeMicrosoft365, app: App, code: str) -> None:
    """The team's own list, as a team keeps it: extra numbers, preferences, an interpreter, and
    the usual mistakes (a stale name, a different e-mail than the ERP has)."""
    from keukentafel.domain.model import ContactKind

    contact_list = app.m365(app.corporation(code)).contact_list
    assert contact_list is not None
    site, lst = contact_list.site_id, contact_list.list_id
    households = [
        h
        for h in app.households(code, app.today())
        if h.members and not h.is_owner_occupied and h.members[0][0].name is not None
    ]

    def tenant_of(household: Household) -> Resident:
        return household.members[0][0]

    no_mobile = [h for h in households if tenant_of(h).contact(ContactKind.MOBILE) is None]
    with_email = [h for h in households if tenant_of(h).contact(ContactKind.EMAIL)]
    rows: list[dict[str, str]] = []
    for i, household in enumerate(no_mobile[:8]):  # the number the ERP lacks
        name = tenant_of(household).name
        assert name is not None
        row = {"VHE": household.unit.code, "Naam": name.surname, "Mobiel": f"06-{20000000 + i:08d}"}
        if i % 3 == 1:
            row["Voorkeur"] = "bellen"
            row["Bereikbaar"] = "na 17.00 uur"
        if i == 2:
            row["Tolk"] = "ja"
            row["Taal"] = "tr"
        rows.append(row)
    rows.append({"VHE": with_email[-1].unit.code, "E-mail": "ander.adres@example.net"})  # ERP kept
    rows.append({"VHE": households[20].unit.code, "Naam": "Vertrokken", "Mobiel": "06-99990000"})
    rows.append({"VHE": "VHE999999", "Mobiel": "06-88880000"})
    for row in rows:
        tenant.state.add_list_item(site, lst, row)


# Kept whole: the demo's script of one week in the ERP, told step by step for the reader.
def _week_of_changes(
    units: list[dict[str, Any]],
    relations: list[dict[str, Any]],
    leases: list[dict[str, Any]],
    complexes: list[str],
) -> list[str]:
    """Edit the fake ERP's raw VERA data the way a real week would; say what was done (no names)."""
    # Over 60 lines on purpose: four edits of raw VERA records, each next to the sentence the demo
    # prints about it; split up, the records and what is said about them would drift apart.
    in_scope = {
        u["code"]
        for u in units
        if any(c.get("code") in complexes for c in u.get("clusters", []) if isinstance(c, dict))
    }
    running = [
        lease
        for lease in leases
        if lease["status"]["code"] == "LOP"
        and lease["soort"]["code"] == "HUU"
        and lease["eenheden"][0]["code"] in in_scope
    ]
    said: list[str] = []

    moving_out = running[0]
    moving_out["status"] = {"code": "BEE", "naam": "Beeindigd"}
    moving_out["einddatum"] = "2026-11-20"
    said.append(f"the tenant of {moving_out['eenheden'][0]['code']} moved out (lease ended)")

    new_id = "REL-DEMO-0001"
    relations.append(
        {
            "id": new_id,
            "soort": {"code": "NAT"},
            "voorletters": "S.",
            "voornaam": "Sanne",
            "achternaam": "Verhoeven",
            "geslacht": {"code": "V"},
            "contactgegevens": [{"soort": {"code": "MOB"}, "waarde": "06-12345678"}],
        }
    )
    leases.append(
        {
            "id": "OVK-DEMO-0001",
            "soort": {"code": "HUU"},
            "status": {"code": "LOP"},
            "begindatum": "2026-11-21",
            "eenheden": [dict(moving_out["eenheden"][0])],
            "relaties": [{"id": new_id, "rollen": [{"soort": {"code": "HUU"}}]}],
        }
    )
    said.append(f"a new tenant moved into {moving_out['eenheden'][0]['code']}")

    changed_party = running[1]["relaties"][0]["id"]
    for relation in relations:
        if relation["id"] == changed_party:
            relation["contactgegevens"] = [
                *relation.get("contactgegevens", []),
                {
                    "soort": {"code": "EMA"},
                    "waarde": "nieuw.adres@example.org",
                    "voorkeur": {"code": "EER"},
                },
            ]
    said.append(f"the tenant of {running[1]['eenheden'][0]['code']} gave a new e-mail address")

    broken = next(
        u for u in units if u["code"] in in_scope and u["code"] != moving_out["eenheden"][0]["code"]
    )
    broken["adres"]["postcode"] = "12AB"
    said.append(
        f"unit {broken['code']} arrives with postcode '12AB' (must be kept aside, not moved out)"
    )
    return said


# --- consent (art. 7:220 BW): answers, the tally, the notice, the report --------------------------

CONSENT_PROJECT = "DIJK-RENO"


def _step_consent_answers(console: Console, app: App, code: str) -> None:
    """8. Answers come in: a list of scanned forms (generated) and a few by hand."""
    from keukentafel.cli.present import print_consent_import, print_consent_recorded
    from keukentafel.domain.consent import Channel
    from keukentafel.usecases.consent import AnswerInput

    console.print(Rule("12. Consent: scanned answer forms come in, and a few answers by hand"))
    forms, by_hand, mistakes = _consent_forms(
        app, code, app.settings.output_dir / "consent" / "formulieren"
    )
    console.print(
        f"A list of generated answer forms ({forms.name}) with their scans next to it, and the "
        f"usual mistakes: {mistakes}."
    )
    print_consent_import(
        app.import_consent_forms(code, CONSENT_PROJECT, forms, recorded_by="demo: F. el Idrissi")
    )
    again = app.import_consent_forms(
        code, CONSENT_PROJECT, forms, recorded_by="demo: F. el Idrissi"
    )
    duplicates = sum(1 for row in again.rows if row.code == "duplicate")
    console.print(
        f"The same list imported again: {again.recorded} recorded, {duplicates} duplicate(s), "
        f"{len(again.set_aside) - duplicates} set aside as before."
    )
    console.print("By hand, after home visits:")
    at = datetime.combine(app.today() - timedelta(days=2), time(19, 30))
    visits = [
        AnswerInput(unit_code=unit, answer="agree", at=at, channel=Channel.VISIT, parties=parties)
        for unit, parties in by_hand
    ]
    print_consent_recorded(
        app.record_consent(code, CONSENT_PROJECT, visits, recorded_by="demo: F. el Idrissi")
    )


def _consent_forms(
    app: App, code: str, folder: Path
) -> tuple[Path, list[tuple[str, tuple[str, ...]]], str]:
    """A form list (XLSX) with generated scans: about 3 in 4 rented households agree, some
    decline, the rest do not answer; plus the usual mistakes. Returns the list, the answers the
    team records by hand (households, and one co-tenant alone) and the mistakes in words."""
    from openpyxl import Workbook

    from keukentafel.domain.consent import UnitStatus

    tally = app.consent_tally(code, CONSENT_PROJECT)
    rented = [u for u in tally.units if u.status is UnitStatus.NO_ANSWER]
    owners = [u for u in tally.units if u.status is UnitStatus.OWNER]
    agree = (len(rented) * 3 + 3) // 4  # 75%
    by_hand_households = rented[agree - 2 : agree]
    decline = rented[agree : agree + len(rented) // 10]
    folder.mkdir(parents=True, exist_ok=True)
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["VHE", "Antwoord", "Datum", "Kanaal", "Scan"])
    today = app.today()
    for index, unit in enumerate([*rented[: agree - 2], *decline]):
        scan = f"scan-{unit.unit_code}.pdf"
        (folder / scan).write_bytes(f"%PDF-1.4 generated form {unit.unit_code}\n".encode())
        word = "akkoord" if index < agree - 2 else "niet akkoord"
        day = today - timedelta(days=21 - index % 14)
        sheet.append([unit.unit_code, word, day, "papier", scan])
    mistakes = ["a formula where the unit code belongs", "an unknown unit"]
    sheet.append(['="VHE"&"0001"', "akkoord", today - timedelta(days=9), "papier", None])
    sheet.append(["VHE999999", "akkoord", today - timedelta(days=9), "papier", None])
    if owners:
        mistakes.append("a form of an owner-occupier")
        sheet.append([owners[0].unit_code, "akkoord", today - timedelta(days=9), "papier", None])
    path = folder / "antwoordformulieren.xlsx"
    workbook.save(path)
    with_co_tenant = next((u for u in rented[agree + len(decline) :] if len(u.parties) > 1), None)
    by_hand: list[tuple[str, tuple[str, ...]]] = [(u.unit_code, ()) for u in by_hand_households]
    if with_co_tenant is not None:  # one co-tenant alone: the household stays incomplete
        by_hand.append((with_co_tenant.unit_code, (with_co_tenant.parties[0].party_id,)))
    return path, by_hand, ", ".join(mistakes)


def _step_consent_tally(console: Console, app: App, code: str) -> None:
    """9. The tally (the daily Prefect flow publishes it as artifacts, counts and unit codes)."""
    from keukentafel.cli.present import print_consent_tally

    console.print(Rule("13. The 70% tally of the renovation (daily flow, exact fractions)"))
    published = _run(console, app, "consent", code)
    console.print(
        f"The consent-tally flow published {len(published.ballots)} ballot row(s) and "
        f"{len(published.units)} unit row(s): counts and unit codes, no names."
    )
    print_consent_tally(app.consent_tally(code, CONSENT_PROJECT))


def _step_consent_notice(console: Console, app: App, code: str) -> None:
    """10. The notice to the tenants who did not agree, with their last days."""
    from keukentafel.cli.present import print_consent_notices, print_mailing

    console.print(Rule("14. The 70% notice to those who did not agree, with their 8 weeks"))
    content = sample_config() / "mailings" / "dijkwijk-consent_reached.yaml"
    print_mailing(
        _run(
            console,
            app,
            "mailing",
            code,
            project_code=CONSENT_PROJECT,
            kind="consent_reached",
            content_path=str(content),
        )
    )
    print_consent_notices(app.consent_tally(code, CONSENT_PROJECT), limit=12)


def _step_consent_report(console: Console, app: App, code: str) -> None:
    """11. The consent report of the renovation project, for the corporation."""
    console.print(Rule("17. The consent report of the renovation project for the corporation"))
    files = app.consent_report(code, CONSENT_PROJECT)
    console.print(f"PDF (unit codes only): {files.pdf}\nXLSX (with names):     {files.xlsx}")


# --- step 8: the renovation's contractor (issue 15) ---------------------------------------------

CONTRACTOR = "BOUWBV"
RENOVATION = "DIJK-RENO"


def _contractor_feed(
    console: Console, app: App, vera: FakeVeraServer, contractor: FakeContractor
) -> None:
    """Appointments for a few households of the renovation, the contractor's feeds through every
    channel, a delay sent back by the contractor, and the ERP's copy. Unit codes only."""
    from keukentafel.cli.present import print_feeds

    code = app.corporations.single().code
    units = _demo_appointments(console, app, code)
    print_feeds(_run(console, app, "feeds", code))
    console.print(
        f"The contractor's planning system received {len(contractor.applied)} signed webhook(s) "
        f"with {len(contractor.sequence_log)} change(s); it holds {len(contractor.current())} "
        "record(s), each with only the fields of the privacy table."
    )
    _demo_pull_api(console, app, code)
    _demo_delay(console, app, code, units)
    summary = _run(console, app, "feeds", code)
    print_feeds(summary)
    console.print(
        f"Webhooks received by the contractor so far: {len(contractor.applied)} "
        f"({contractor.duplicates} repeat(s) applied once). The ERP (fake VERA) now holds "
        f"{len(vera.written['/contactmomenten'])} contact moment(s) and "
        f"{len(vera.written['/afspraken'])} appointment(s)."
    )
    from keukentafel.cli.present import print_delivery

    print_delivery(
        _run(console, app, "dispatch", code)
    )  # the appointment e-mails, through the outbox
    letters = sorted((app.settings.output_dir / "afspraken").glob("*"))
    console.print(
        f"Appointment letters, e-mails and invitations in {len(letters)} folder(s) "
        f"under {app.settings.output_dir / 'afspraken'}"
    )


def _demo_appointments(console: Console, app: App, code: str) -> list[str]:
    """Work days for four households, a kitchen-table talk, and a session that fills up."""
    from keukentafel.cli.present import print_appointment
    from keukentafel.domain.planning.appointments import Slot

    planning = app.planning(code)
    project = app.corporation(code).project(RENOVATION)
    today = app.today()
    from keukentafel.domain.model import ContactKind

    households = [
        h
        for h in app.households(code, today)
        if h.unit.complex_code in project.complex_codes and h.members and not h.is_owner_occupied
    ]
    # households with an e-mail address first: their letters also go out by e-mail
    households.sort(key=lambda h: not any(r.contact(ContactKind.EMAIL) for r in h.residents))
    rented = [h.unit.code for h in households[:6]]
    monday = today + timedelta(days=14 + (7 - today.weekday()) % 7)
    for n, unit in enumerate(rented[:4]):  # Monday to Wednesday or Wednesday to Friday
        first = monday + timedelta(days=7 * (n // 2) + 2 * (n % 2))
        planned = planning.plan_work_days(
            RENOVATION,
            CONTRACTOR,
            unit,
            "keuken",
            first,
            first + timedelta(days=2),
            team="team-noord",
            by="demo",
        )
        print_appointment(planned, "Work days")
    guide = (app.m365(app.corporation(code)).staff_calendars or [""])[0]
    visit_day = _weekday(today + timedelta(days=7))
    visit = planning.book_visit(
        RENOVATION,
        rented[4],
        guide,
        Slot(datetime.combine(visit_day, time(10)), datetime.combine(visit_day, time(11))),
        by="demo",
    )
    print_appointment(visit, "Home visit")
    _demo_session(console, app, code, visit_day, rented[:3])
    return rented[:4]


def _demo_session(console: Console, app: App, code: str, day: date, units: list[str]) -> None:
    """A session in the model home with two places, and three households who want one."""
    from keukentafel.domain.planning.appointments import PlanningSession, SessionFull, Slot

    planning = app.planning(code)
    session = PlanningSession(
        "MODEL-1",
        RENOVATION,
        "Kijken in de modelwoning",
        Slot(datetime.combine(day, time(14)), datetime.combine(day, time(15, 30))),
        "Modelwoning",
        "in het complex",
        capacity=2,
    )
    planning.create_session(session)
    for unit in units:
        try:
            planning.book_session(RENOVATION, unit, "MODEL-1", by="demo")
            console.print(f"Session MODEL-1: a place for {unit}")
        except SessionFull:
            console.print(f"Session MODEL-1 is full: no place for {unit} (2 places, 2 taken)")


def _weekday(day: date) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def _client(app: App) -> Any:
    """The contractor API of ``app`` in this process (the web app mounts the same router)."""
    import warnings

    from fastapi import FastAPI

    from keukentafel.feeds.api import router

    with warnings.catch_warnings():  # starlette's note about its httpx dependency
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    web = FastAPI()
    web.include_router(router(app))
    return TestClient(web)


def _demo_pull_api(console: Console, app: App, code: str) -> None:
    """The pull API as the contractor uses it (bearer token, cursor), the exports and calendar."""
    client = _client(app)
    auth = {"Authorization": f"Bearer {app.settings.environ[CONTRACTOR_TOKEN_ENV]}"}
    pages, changes, cursor = 0, 0, None
    while True:
        params = {"limit": 100} | ({"cursor": cursor} if cursor else {})
        page = client.get("/contractor/v1/changes", params=params, headers=auth).json()
        pages, changes, cursor = pages + 1, changes + len(page["changes"]), page["next_cursor"]
        if not page["has_more"]:
            break
    unauthorised = client.get("/contractor/v1/changes").status_code
    console.print(
        f"Pull API GET /contractor/v1/changes: {changes} change(s) in {pages} page(s), up to "
        f"cursor {cursor}; without the token: HTTP {unauthorised}."
    )
    folder = app.settings.output_dir / "contractor"
    folder.mkdir(parents=True, exist_ok=True)
    for name, path in (
        ("export.csv", "export.csv"),
        ("export.xlsx", "export.xlsx"),
        ("calendar.ics", "calendar.ics?team=team-noord"),
    ):
        answer = client.get(f"/contractor/v1/{path}", headers=auth)
        (folder / name).write_bytes(answer.content)
    events = (folder / "calendar.ics").read_bytes().count(b"BEGIN:VEVENT")
    console.print(f"Export (CSV, XLSX) and the team's calendar ({events} event(s)) in {folder}")


def _demo_delay(console: Console, app: App, code: str, units: list[str]) -> None:
    """The contractor reports a delay for two kitchens, signed; sent twice, applied once."""
    from connectors.fakes.contractor import FakeContractor
    from keukentafel.cli.present import print_inbound
    from keukentafel.usecases.contractor_inbox import InboundReport

    planning = app.planning(code)
    lines = []
    for unit in units[:2]:
        work = next(a for a in planning.appointments(unit) if a.contractor_code == CONTRACTOR)
        assert work.slot is not None
        first = work.slot.start.date() + timedelta(days=14)  # two weeks later, same weekdays
        lines.append(
            {
                "code": work.code,
                "begindatum": first.isoformat(),
                "einddatum": (first + timedelta(days=2)).isoformat(),
            }
        )
    body, headers = FakeContractor.signed(
        app.settings.environ[CONTRACTOR_INBOUND_ENV],
        "msg_demo_delay_1",
        "afspraken.vertraagd",
        {"reden": "De nieuwe keukens worden twee weken later geleverd.", "afspraken": lines},
    )
    client = _client(app)
    for _ in range(2):  # the contractor's system sends it twice
        answer = client.post(
            f"/contractor/v1/inbound/{code}/{CONTRACTOR}", content=body, headers=headers
        ).json()
        print_inbound(
            InboundReport(
                answer["webhook-id"],
                answer["duplicate"],
                answer["applied"],
                answer["refused"],
                [line["code"] for line in lines],
            )
        )


# --- the resident's own page (issue 14) -------------------------------------------------------


def _step_web_page(console: Console, app: App, code: str) -> None:
    """One household of the renovation gets its proposal (a lost letter sent again); its letter's
    link is opened on the web application, served for a moment by uvicorn; the demo prints the
    link and the code, and how to serve the page against the demo's store."""
    import httpx

    from keukentafel.domain.consent import UnitStatus

    console.print(Rule("16. The resident's own page: the letter's link, opened in a browser"))
    on = app.today()
    before = app.consent_tally(code, RENOVATION)
    renovation = _renovation(app)
    household = next(
        h
        for h in app.households(code, on)
        if len(h.residents) == 1  # one party: their answer is the household's
        and h.residents[0].name is not None
        and not h.is_owner_occupied
        and h.unit.complex_code in renovation
        and before.unit(h.unit.code).status is not UnitStatus.AGREED
    )
    link = _proposal_link(app, code, household, on)
    path = "/" + link.url.split("://", 1)[1].split("/", 1)[1]
    session_secret = secrets.token_urlsafe(32)
    with (
        _served(app, session_secret.encode()) as base,
        httpx.Client(base_url=base, follow_redirects=True, timeout=30) as browser,
    ):
        page = browser.get(path)
        console.print(
            f"The page of {household.unit.code} answered {page.status_code} at {page.url.path} "
            f"({'with' if 'Uw antwoord' in page.text else 'WITHOUT'} the answer form)."
        )
        name = household.residents[0].name
        assert name is not None  # chosen so above
        answered = _answer_on_the_page(browser, page.text, name.surname)
    after = app.consent_tally(code, RENOVATION)
    console.print(
        f"The tenant of {household.unit.code} agreed on the page, confirming with their name "
        f"(HTTP {answered}): now {after.unit(household.unit.code).status} in the ledger "
        f"(channel web); agreed {before.ballot().agreed} -> {after.ballot().agreed} "
        f"of {after.ballot().denominator}.",
        highlight=False,
    )
    env_file = _web_env_file(app, session_secret)
    console.print(
        f"Serve it yourself: env $(cat {env_file}) keukentafel web --port 8000\n"
        f"Then open http://127.0.0.1:8000{path}\n"
        f"or go to http://127.0.0.1:8000/p/{RENOVATION} and type the code {link.code}.",
        highlight=False,
        soft_wrap=True,
    )


def _proposal_link(app: App, code: str, household: Any, on: date) -> Any:
    """The household gets its proposal (a lost letter sent again); the link its letter carries."""
    from keukentafel.bootstrap import mailing_content
    from keukentafel.domain.links import issue_link

    content = mailing_content("proposal", on, None, sample=True)
    content = content.model_copy(update={"units": [household.unit.code]})
    app.prepare_mailing(code, RENOVATION, "proposal", on=on, content=content, started_by="demo")
    letters = app.letters(app.corporation(code))
    link = issue_link(
        letters.link_base_url,
        f"{RENOVATION}:{household.unit.code}",
        "proposal",
        on=on,
        valid_days=letters.link_valid_days,
        secret=app.link_secret(letters),
        parties=[r.relation_id for r in household.residents],
    )
    return link


def _web_env_file(app: App, session_secret: str) -> Path:
    """What ``keukentafel web`` needs to serve the demo's store, in a file for the owner only
    (the secrets are never printed)."""
    env_file = app.settings.output_dir / "web.env"
    env_file.write_text(
        "\n".join(
            f"{name}={value}"
            for name, value in {
                "KEUKENTAFEL_DATABASE_URL": app.settings.database_url,
                "KEUKENTAFEL_CONFIG": str(app.settings.config_path),
                # the web application serves every corporation file of a folder: the demo's alone
                "KEUKENTAFEL_CONFIG_DIR": str(app.settings.config_path.parent),
                LINK_SECRET_ENV: app.settings.environ[LINK_SECRET_ENV],
                "KEUKENTAFEL_WEB_SESSION_SECRET": session_secret,
            }.items()
        )
        + "\n",
        encoding="utf-8",
    )
    env_file.chmod(0o600)
    return env_file


def _answer_on_the_page(browser: Any, page: str, surname: str) -> int:
    """Post the page's answer form as the tenant would: agree, confirmed by typing their name."""
    form = page.split('action="/woning/antwoord"', 1)[1].split("</form>", 1)[0]
    fields = dict(re.findall(r'type="hidden" name="(csrf|ballot)" value="([^"]*)"', form))
    checked = re.search(r'name="ballot" value="([^"]*)"[^>]*checked', form)
    ballot = checked.group(1) if checked else fields.get("ballot", "whole")
    answered = browser.post(
        "/woning/antwoord",
        data={"name": surname, "answer": "agree", "ballot": ballot, "csrf": fields["csrf"]},
    )
    return int(answered.status_code)


def _renovation(app: App) -> set[str]:
    return set(app.corporations.single().project(RENOVATION).complex_codes)


@contextmanager
def _served(app: App, session_secret: bytes) -> Iterator[str]:
    """The web application under uvicorn on a free loopback port, for the length of the block."""
    import socket
    import threading

    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(
            app.web(session_secret=session_secret),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started and thread.is_alive():
        import time as _time

        _time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
