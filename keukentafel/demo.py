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

import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import yaml
from rich.console import Console
from rich.rule import Rule

from keukentafel.settings import Settings, quiet_prefect_defaults

if TYPE_CHECKING:
    from connectors.fakes.m365 import FakeMicrosoft365
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


def _effective_config(out_dir: Path, vera_url: str, tenant: FakeMicrosoft365) -> Path:
    data = yaml.safe_load((sample_config() / "demo.yaml").read_text(encoding="utf-8"))
    data["source"]["vera"]["base_url"] = vera_url
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

    from connectors.fakes.vera_data import generate_dataset
    from connectors.fakes.vera_server import FakeVeraServer
    from keukentafel.bootstrap import CorporationRegistry, build, installed

    dataset = generate_dataset(units, seed=2, complexes=5)
    api_key, m365_secret = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    fakes = {API_KEY_ENV: api_key, M365_SECRET_ENV: m365_secret}
    with (
        FakeVeraServer(dataset, api_key=api_key) as vera,
        _fake_tenant(m365_secret) as tenant,
    ):
        config_path = _effective_config(out_dir, vera.url, tenant)
        corporations = CorporationRegistry.from_files([config_path])
        app_settings = replace(demo_settings(settings, out_dir, fakes), config_path=config_path)
        with build(app_settings, corporations=corporations) as app, installed(app):
            _steps(console, app, dataset, vera.url, tenant)
    console.print(f"\nDemo output and store: {out_dir}")


# Kept whole: the demo's numbered steps in the order they print, read top to bottom; each new
# step is a call to a small function of its own.
def _steps(
    console: Console, app: App, dataset: Any, vera_url: str, tenant: FakeMicrosoft365
) -> None:
    from flows.mailing import dispatch_flow, mailing_flow
    from flows.sync_register import sync_register_flow
    from flows.team_contacts import pull_team_contacts_flow
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
    print_sync_summary(sync_register_flow(code))

    console.print(Rule("2. A week later: the ERP changed (and one row is broken)"))
    for line in _week_of_changes(
        dataset.units, dataset.relations, dataset.leases, config.complexes()
    ):
        console.print(f"  - {line}")
    print_sync_summary(sync_register_flow(code))

    console.print(Rule("3. The same sync again: nothing changed, nothing written"))
    print_sync_summary(sync_register_flow(code))

    console.print(Rule("4. The register per project and complex"))
    print_register(app.summarise(code, date.today()))

    console.print(Rule("5. The guidance team's SharePoint list (fake Microsoft 365, real msal)"))
    _seed_team_list(tenant, app, code)
    print_team_pull(pull_team_contacts_flow(code))

    console.print(
        Rule("6. A mailing: invitation to an information evening (letters, e-mail, agenda)")
    )
    print_mailing(
        mailing_flow(
            code,
            "HAVEN-SLOOP",
            "info_evening",
            content_path=str(sample_config() / "mailings" / "havenkwartier-info_evening.yaml"),
        )
    )
    mailbox = app.m365(config).mailbox
    assert mailbox is not None
    sent = tenant.state.messages(mailbox, "SentItems")
    console.print(f"The shared mailbox's Sent Items now hold {len(sent)} message(s).")

    console.print(Rule("7. The outbox again: everything went out already, nothing is sent twice"))
    print_delivery(dispatch_flow(code))
    again = tenant.state.messages(mailbox, "SentItems")
    console.print(f"Sent Items: still {len(again)} message(s).")

    _step_correction(console, app, tenant, code)


def _step_correction(console: Console, app: App, tenant: FakeMicrosoft365, code: str) -> None:
    """Step 8: the evening moves; everyone who had the invitation gets an update."""
    from flows.mailing import mailing_flow
    from keukentafel.cli.present import print_correction, print_mailing, print_skipped

    console.print(
        Rule("8. The evening starts half an hour later: an update to everyone who had it")
    )
    first = app.outbox_counts(code)
    outcome = mailing_flow(
        code,
        "HAVEN-SLOOP",
        "info_evening",
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
        for h in app.households(code, date.today())
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
