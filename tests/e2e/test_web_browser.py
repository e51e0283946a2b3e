"""The pages in real headless Chromium (Debian's, at /usr/bin/chromium; Playwright drives it and
never downloads a browser): a letter's link, refusals, a replayed form, a new tenant, staff
sign-in through the fake Entra ID, axe-core on every page, and the resident page at 360 px.

One app server (uvicorn over https with a test certificate) and one browser serve the module.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import trustme
import uvicorn
from typer.testing import CliRunner

from connectors.fakes.m365 import FakeMicrosoft365
from keukentafel.cli.app import app as cli
from keukentafel.domain.model import LeaseParty, PartyRole
from tests import builders
from tests import web_builders as wb

pytestmark = pytest.mark.slow
playwright = pytest.importorskip("playwright.sync_api")
axe_module = pytest.importorskip("axe_playwright_python.sync_playwright")
CHROMIUM = Path("/usr/bin/chromium")
TODAY = builders.local_today()
SHOTS = Path("/tmp/keukentafel-screenshots")
GUIDE = "gids@example.org"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(tmp: Path, consent_mode: str = "whole") -> Iterator[dict[str, Any]]:
    """The app over https on a free port, with a fake tenant for the staff's sign-in."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (scripts/bootstrap installs it)")
    port = _port()
    base = f"https://127.0.0.1:{port}"
    tenant = FakeMicrosoft365(
        tenant_id=wb.TENANT, client_id=wb.STAFF_CLIENT, client_secret=wb.STAFF_SECRET
    )
    tenant.entra.allow_redirect(f"{base}/staff/auth/callback")
    tenant.entra.add_user("oid-guide", "gids@example.org", "Gids Een", ["guide"])
    tenant.entra.add_user("oid-admin", "beheer@example.org", "Beheer Een", ["admin"])
    staff = {
        "base_url": base,
        "tenant_id": wb.TENANT,
        "client_id": wb.STAFF_CLIENT,
        "client_secret_env": "KT_STAFF",
        "guides": {"gids@example.org": ["P"]},
    }
    tenant.state.add_mailbox(GUIDE)  # the guide's Outlook: free/busy for home visits
    tenant.state.add_mailbox("team-mailbox@example.org")
    with tenant:
        staff.update(authority_host=tenant.authority_host, ca_bundle=tenant.ca_bundle_path)
        m365 = {
            "authority_host": tenant.authority_host,
            "graph_base_url": tenant.graph_base_url,
            "ca_bundle": tenant.ca_bundle_path,
        }
        app = wb.make_app(
            tmp,
            f"sqlite:///{tmp / 'store.db'}",
            staff=staff,
            m365=m365,
            secrets={"KT_TEST_M365": wb.STAFF_SECRET},
            consent_mode=consent_mode,
            visit_guide=GUIDE,
        )
        snapshot = builders.register(4)  # VHE00004: tenant R4 and co-tenant R5
        snapshot.residents.append(builders.resident(5))
        snapshot.leases[3] = replace(
            snapshot.leases[3],
            parties=(LeaseParty("R4", PartyRole.TENANT), LeaseParty("R5", PartyRole.CO_TENANT)),
        )
        builders.run(app.sessions, snapshot)
        wb.send_proposal(app, TODAY)
        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1")
        cert.private_key_and_cert_chain_pem.write_to_path(str(tmp / "server.pem"))
        config = uvicorn.Config(
            app.web(session_secret=b"b" * 32),
            host="127.0.0.1",
            port=port,
            ssl_certfile=str(tmp / "server.pem"),
            log_level="warning",
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        try:
            yield {"app": app, "base": base, "tenant": tenant}
        finally:
            server.should_exit = True
            thread.join(10)
            app.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    yield from _serve(tmp_path_factory.mktemp("web"))


@pytest.fixture(scope="module")
def package_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The same, with project P asking consent per package (ISOLATIE, VENTILATIE)."""
    yield from _serve(tmp_path_factory.mktemp("web-packages"), "per_package")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(ignore_https_errors=True, locale="nl-NL")
    yield context.new_page()
    context.close()


def _accessible(page: Any) -> None:
    """axe-core finds no serious or critical violation on the page as it is now."""
    results = axe_module.Axe().run(page)
    bad = [
        f"{v['id']} ({v['impact']})"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not bad, f"{page.url}: {bad}"


def _url(site: dict[str, Any], unit: str, parties: list[str], **kw: Any) -> str:
    return site["base"] + wb.path_of(wb.link_for(unit, kw.pop("on", TODAY), parties, **kw).url)


def test_a_letters_link_opens_the_page_on_a_phone(site: dict[str, Any], browser: Any) -> None:
    context = browser.new_context(
        ignore_https_errors=True, viewport={"width": 360, "height": 740}, device_scale_factor=1
    )
    page = context.new_page()
    page.goto(_url(site, "VHE00001", ["R1"]))
    assert page.url.endswith("/woning")  # the token left the address bar after one request
    assert page.locator("h1").inner_text() == "Renovatie Dorpsstraat"
    assert page.get_by_text("Bea Begeleider").first.is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # no sideways scroll
    page.locator("summary", has_text="العربية").click()
    arabic = page.locator("details[lang=ar]")
    assert arabic.get_attribute("dir") == "rtl" and arabic.locator("h3").is_visible()
    _accessible(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "resident-360.png"), full_page=True)
    context.close()


@pytest.mark.parametrize("how", ["expired", "tampered", "another household's"])
def test_a_bad_link_shows_the_plain_page(site: dict[str, Any], page: Any, how: str) -> None:
    if how == "expired":
        url = _url(site, "VHE00001", ["R1"], on=TODAY - timedelta(days=90))
    elif how == "tampered":
        good = _url(site, "VHE00001", ["R1"])
        url = good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB")
    else:  # household 2's letter, asked for in household 1's session
        page.goto(_url(site, "VHE00002", ["R2"]))
        letter = page.locator("a[href^='/woning/brief/']").first.get_attribute("href")
        page.goto(_url(site, "VHE00001", ["R1"]))
        url = site["base"] + letter
    answer = page.goto(url)
    assert answer.status == 404
    assert page.locator("h1").inner_text() in (
        "Deze link werkt niet",
        "Deze brief is niet te vinden",
    )
    _accessible(page)


def test_a_replayed_form_records_nothing(site: dict[str, Any], page: Any) -> None:
    page.goto(_url(site, "VHE00002", ["R2"]))
    page.locator("#k-call").check()
    page.locator("#tekst").fill("Graag na vijf uur.")
    csrf = page.locator("form[action='/woning/vraag'] input[name=csrf]").get_attribute("value")
    page.get_by_role("button", name="Versturen", exact=True).click()
    assert page.locator("h1").inner_text() == "Dank u wel"
    _accessible(page)
    # The same form sent again with the browser's own cookies (going back reloads the page and
    # gets a new form: no-store), as a double click on a slow line or a replay would send it.
    form = {"kind": "call_request", "text": "Graag na vijf uur.", "csrf": csrf}
    replay = page.request.post(site["base"] + "/woning/vraag", form=form)
    assert replay.status == 409 and "al verstuurd" in replay.text()
    page.goto(site["base"] + "/woning")
    assert page.get_by_text("Wil gebeld worden").count() == 1  # one request on record


def test_the_start_page_takes_a_code_and_refuses_a_wrong_one(
    site: dict[str, Any], page: Any
) -> None:
    page.goto(site["base"] + "/p/P")
    _accessible(page)
    page.locator("#code").fill("AAAAA AAAAA")
    page.get_by_role("button", name="Naar mijn pagina").click()
    assert "werkt niet" in page.locator(".error").inner_text()
    _accessible(page)
    page.goto(site["base"] + "/")
    _accessible(page)


def test_staff_sign_in_through_the_fake_entra_id(site: dict[str, Any], page: Any) -> None:
    page.goto(site["base"] + "/staff")
    _accessible(page)
    page.get_by_role("link", name="Inloggen voor Woonstichting Test").click()
    page.get_by_role("button", name="Sign in as Gids Een").click()  # the fake's sign-in page
    assert page.url.endswith("/staff")
    _accessible(page)
    page.get_by_role("link", name="Renovatie Dorpsstraat").click()
    assert page.locator("h1").inner_text() == "Renovatie Dorpsstraat"
    _accessible(page)
    page.get_by_role("link", name="VHE00002").first.click()
    assert "VHE00002" in page.locator("h1").inner_text()
    assert page.get_by_text("Jansen2").first.is_visible()
    _accessible(page)


def _answer(page: Any, answer: str, name: str) -> str:
    page.locator(f"#a-{answer}").check()
    page.locator("#naam").fill(name)
    page.get_by_role("button", name="Antwoord versturen").click()
    return str(page.locator("h1").inner_text())


def test_a_resident_answers_changes_and_withdraws(site: dict[str, Any], page: Any) -> None:
    page.goto(_url(site, "VHE00001", ["R1"]))
    assert page.locator("#antwoord").is_visible()
    _accessible(page)
    assert _answer(page, "agree", "J. de Jansen1") == "Dank u wel"
    _accessible(page)
    page.goto(site["base"] + "/woning")
    assert "Het hele voorstel: akkoord" in page.locator("ul.status").inner_text()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "resident-answered.png"), full_page=True)
    page.goto(site["base"] + "/woning")
    assert _answer(page, "withdraw", "Jansen1") == "Dank u wel"
    page.goto(site["base"] + "/woning")
    assert "akkoord ingetrokken" in page.locator("ul.parties").inner_text()
    page.goto(site["base"] + "/woning")
    assert _answer(page, "decline", "Piet de Vries") == "Uw antwoord is niet opgeslagen"
    assert "herkennen deze naam niet" in page.locator(".error").inner_text()
    _accessible(page)
    page.goto(site["base"] + "/woning")
    assert _answer(page, "decline", "J. de Jansen1") == "Dank u wel"
    page.goto(site["base"] + "/woning")
    assert "Het hele voorstel: niet akkoord" in page.locator("ul.status").inner_text()
    tally = site["app"].consent_household("TST", "P", "VHE00001")
    assert [str(p.answers["whole"]) for p in tally.parties] == ["decline"]


def test_a_co_tenant_confirms_for_themselves(site: dict[str, Any], browser: Any) -> None:
    url = _url(site, "VHE00004", ["R4", "R5"])
    phones = []
    for _ in range(2):
        context = browser.new_context(
            ignore_https_errors=True, viewport={"width": 360, "height": 740}
        )
        phones.append((context, context.new_page()))
    tenant, co_tenant = phones[0][1], phones[1][1]
    tenant.goto(url)
    assert _answer(tenant, "agree", "J. de Jansen4") == "Dank u wel"
    tenant.goto(site["base"] + "/woning")
    assert "nog niet iedereen akkoord" in tenant.locator("ul.status").inner_text()
    co_tenant.goto(url)
    assert "Medehuurder: nog geen antwoord" in co_tenant.locator("ul.parties").inner_text()
    assert _answer(co_tenant, "agree", "jansen5") == "Dank u wel"
    co_tenant.goto(site["base"] + "/woning")
    assert "Het hele voorstel: akkoord" in co_tenant.locator("ul.status").inner_text()
    assert co_tenant.evaluate("document.documentElement.scrollWidth") <= 360
    _accessible(co_tenant)
    co_tenant.screenshot(path=str(SHOTS / "co-tenant-360.png"), full_page=True)
    for context, _ in phones:
        context.close()


def test_a_replayed_answer_form_records_nothing(site: dict[str, Any], page: Any) -> None:
    page.goto(_url(site, "VHE00002", ["R2"]))
    form = page.locator("form[action='/woning/antwoord']")
    csrf = form.locator("input[name=csrf]").get_attribute("value")
    assert _answer(page, "agree", "J. de Jansen2") == "Dank u wel"
    data = {"name": "J. de Jansen2", "answer": "decline", "ballot": "whole", "csrf": csrf}
    replay = page.request.post(site["base"] + "/woning/antwoord", form=data)
    assert replay.status == 409
    status = site["app"].consent_household("TST", "P", "VHE00002")
    assert str(status.statuses["whole"]) == "agreed"  # the replayed "decline" did not count


def test_staff_record_a_paper_answer_and_the_tally_changes(
    site: dict[str, Any], page: Any, tmp_path: Path
) -> None:
    page.goto(site["base"] + "/staff")
    page.get_by_role("link", name="Inloggen voor Woonstichting Test").click()
    page.get_by_role("button", name="Sign in as Gids Een").click()
    page.goto(site["base"] + "/staff/p/P")
    before = int(page.locator("table.tally tbody tr td").nth(1).inner_text())
    _accessible(page)
    page.get_by_role("link", name="VHE00003").first.click()
    _accessible(page)
    scan = tmp_path / "formulier 3.pdf"
    scan.write_bytes(b"%PDF-1.4 a scanned form")
    page.locator("#p-answer").select_option("agree")
    page.locator("#p-channel").select_option("paper")
    page.locator("#p-date").fill(TODAY.isoformat())
    page.locator("#p-scan").set_input_files(str(scan))
    page.get_by_role("button", name="Antwoord vastleggen").click()
    assert "VHE00003" in page.locator("h1").inner_text()
    digest = __import__("hashlib").sha256(scan.read_bytes()).hexdigest()
    # the ledger keeps the digest and "scan.pdf", never the (personal) file name
    assert f"scan.pdf (sha256 {digest})" in page.locator("body").inner_text()
    page.screenshot(path=str(SHOTS / "staff-household.png"), full_page=True)
    page.goto(site["base"] + "/staff/p/P")
    after = int(page.locator("table.tally tbody tr td").nth(1).inner_text())
    assert after == before + 1
    tally = site["app"].consent_tally("TST", "P").ballots[0]
    assert tally.agreed == after  # the same numbers as `keukentafel consent tally`
    page.screenshot(path=str(SHOTS / "staff-project.png"), full_page=True)


def test_a_new_tenant_cannot_use_the_old_link(site: dict[str, Any], page: Any) -> None:
    old = _url(site, "VHE00003", ["R3"])
    assert page.goto(old).status == 200
    snapshot = builders.register(3)
    snapshot.leases[2] = replace(
        snapshot.leases[2], lease_id="L3-NEW", parties=(LeaseParty("R1", PartyRole.TENANT),)
    )
    builders.run(site["app"].sessions, snapshot, max_shrink=1.0)
    assert page.goto(site["base"] + "/woning").status == 404
    assert page.goto(old).status == 404
    _accessible(page)


def _staff_tally(page: Any, base: str) -> dict[str, tuple[int, int, int, int]]:
    page.goto(base + "/staff")
    page.get_by_role("link", name="Inloggen voor Woonstichting Test").click()
    page.get_by_role("button", name="Sign in as Gids Een").click()
    page.goto(base + "/staff/p/P")
    rows = {}
    for row in page.locator("table.tally tbody tr").all():
        cells = [c.inner_text() for c in row.locator("td").all()]
        rows[cells[0]] = (int(cells[1]), int(cells[2]), int(cells[3]), int(cells[4]))
    return rows


def test_a_resident_answers_per_package_and_staff_see_the_tally_per_package(
    package_site: dict[str, Any], page: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = package_site
    page.goto(_url(site, "VHE00001", ["R1"]))
    ballots = page.locator("form[action='/woning/antwoord'] input[name=ballot]")
    assert [b.get_attribute("value") for b in ballots.all()] == ["whole", "ISOLATIE", "VENTILATIE"]
    page.get_by_label("Isolatie").check()
    assert _answer(page, "agree", "J. de Jansen1") == "Dank u wel"
    page.goto(site["base"] + "/woning")
    page.get_by_label("Ventilatie").check()
    assert _answer(page, "decline", "J. de Jansen1") == "Dank u wel"
    page.goto(site["base"] + "/woning")
    status = page.locator("ul.status").inner_text()
    assert "Isolatie: akkoord" in status and "Ventilatie: niet akkoord" in status
    _accessible(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "resident-per-package.png"), full_page=True)

    page.goto(_url(site, "VHE00002", ["R2"]))
    page.get_by_label("Het hele voorstel").check()
    assert _answer(page, "agree", "Jansen2") == "Dank u wel"  # covers every package

    staff = page.context.browser.new_context(ignore_https_errors=True, locale="nl-NL").new_page()
    shown = _staff_tally(staff, site["base"])
    staff.screenshot(path=str(SHOTS / "staff-per-package.png"), full_page=True)
    app = site["app"]
    tally = app.consent_tally("TST", "P")
    expected = {b.ballot: (b.agreed, b.declined, b.incomplete, b.no_answer) for b in tally.ballots}
    assert shown == expected == {"ISOLATIE": (2, 0, 0, 2), "VENTILATIE": (1, 1, 0, 2)}
    # and the operator's command prints the same numbers
    env = {
        "KEUKENTAFEL_DATABASE_URL": str(app.settings.database_url),
        "KEUKENTAFEL_DATA_DIR": str(app.settings.data_dir),
        "KEUKENTAFEL_OUTPUT_DIR": str(app.settings.output_dir),
        "KT_TEST_LINK_SECRET": wb.LINK_SECRET,
        "KT_TEST_M365": "x",
        "KT_PULL": wb.PULL_TOKEN,
        "KT_STAFF": wb.STAFF_SECRET,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    args = [
        "consent",
        "tally",
        "--project",
        "P",
        "--json",
        "--config",
        str(app.settings.config_path),
    ]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    printed = {
        b["ballot"]: (b["agreed"], b["declined"], b["incomplete"], b["no_answer"])
        for b in json.loads(result.output)["ballots"]
    }
    assert printed == shown
    staff.context.close()


def _sign_in(page: Any, base: str, who: str) -> None:
    page.goto(base + "/staff")
    page.get_by_role("link", name="Inloggen voor Woonstichting Test").click()
    page.get_by_role("button", name=f"Sign in as {who}").click()


def test_an_admin_handles_a_reply_that_fits_no_household_and_a_guide_sees_none(
    site: dict[str, Any], browser: Any
) -> None:
    from keukentafel.domain.open_items import OpenItem, OpenItemKind, OpenItemStatus
    from keukentafel.store.repositories.open_items import OpenItemRepository

    text = "Van: onbekend@example.org. Onderwerp: Re: Uw woning. Ik ben het eens, groet Els."
    with site["app"].sessions.begin() as session:  # as the reply matching keeps one aside
        item = OpenItem(
            "reply-x1",
            "TST",
            "-",
            "-",
            OpenItemKind.EMAIL_REPLY,
            "email",
            text,
            OpenItemStatus.OPEN,
            datetime.now(UTC).replace(tzinfo=None),
        )
        OpenItemRepository(session, "TST").add(item, tenancy="", source_ref="reply:graph-x1")

    guide_context = browser.new_context(ignore_https_errors=True, locale="nl-NL")
    guide = guide_context.new_page()
    _sign_in(guide, site["base"], "Gids Een")
    assert "Projecten" in guide.locator("h1").inner_text()
    assert "Els" not in guide.content() and "bij geen huishouden" not in guide.content()
    guide.goto(site["base"] + "/staff/p/P")
    assert "Els" not in guide.content()  # not among the project's open items either
    refused = guide.request.post(
        site["base"] + "/staff/replies", form={"item": "reply-x1", "csrf": "x"}
    )
    assert refused.status == 403 and "Els" not in refused.text()

    admin_context = browser.new_context(ignore_https_errors=True, locale="nl-NL")
    admin = admin_context.new_page()
    _sign_in(admin, site["base"], "Beheer Een")
    table = admin.locator("table.replies")
    assert "Ik ben het eens, groet Els." in table.inner_text()
    _accessible(admin)
    admin.screenshot(path=str(SHOTS / "staff-unmatched-replies.png"), full_page=True)
    admin.get_by_label("Afgehandeld: e-mail van").first.check()
    admin.get_by_role("button", name="Gekozen e-mails afhandelen").click()
    assert "Geen e-mails zonder huishouden." in admin.locator("main").inner_text()
    with site["app"].sessions() as session:
        (done,) = [
            i
            for i in OpenItemRepository(session, "TST").for_project("-", open_only=False)
            if i.public_id == "reply-x1"
        ]
    assert (str(done.status), done.closed_by) == ("done", "entra:oid-admin")
    for context in (guide_context, admin_context):
        context.close()


def test_a_resident_picks_a_home_visit_in_the_guides_free_time(
    site: dict[str, Any], browser: Any
) -> None:
    # tomorrow as the page counts it now (not at import: a run may cross Amsterdam's midnight)
    day = builders.local_today() + timedelta(days=1)
    while day.weekday() > 4:
        day += timedelta(days=1)
    # the guide is busy that morning in Outlook
    site["tenant"].state.mailbox(GUIDE).events["meeting"] = {
        "id": "meeting",
        "subject": "Teamoverleg",
        "showAs": "busy",
        "start": {"dateTime": f"{day}T09:00:00", "timeZone": "Europe/Amsterdam"},
        "end": {"dateTime": f"{day}T11:00:00", "timeZone": "Europe/Amsterdam"},
    }
    phones = []
    for unit, party in (("VHE00001", "R1"), ("VHE00002", "R2")):
        context = browser.new_context(
            ignore_https_errors=True, locale="nl-NL", viewport={"width": 360, "height": 740}
        )
        phone = context.new_page()
        phone.goto(_url(site, unit, [party]))
        phones.append((context, phone))
    first, second = phones[0][1], phones[1][1]
    form = first.locator("form[action='/woning/bezoek']")
    assert "Een gesprek bij u thuis" in first.locator("#bezoek").inner_text()
    offered = [r.get_attribute("value") for r in form.locator("input[name=slot]").all()]
    assert f"{day}T11:00:00" in offered and f"{day}T09:00:00" not in offered
    _accessible(first)
    assert first.evaluate("document.documentElement.scrollWidth") <= 360
    SHOTS.mkdir(parents=True, exist_ok=True)
    first.screenshot(path=str(SHOTS / "resident-visit-slots.png"), full_page=True)
    # both residents have the page open on the same slot; the first to send gets it
    second.locator(f"input[value='{day}T11:00:00']").check()
    form.locator(f"input[value='{day}T11:00:00']").check()
    first.get_by_role("button", name="Afspraak maken").click()
    assert first.locator("h1").inner_text() == "Uw afspraak is gemaakt"
    first.screenshot(path=str(SHOTS / "resident-visit-booked.png"), full_page=True)
    second.get_by_role("button", name="Afspraak maken").click()
    assert second.locator("h1").inner_text() == "Dit lukte niet"
    assert "niet meer vrij" in second.locator(".error").inner_text()
    second.goto(site["base"] + "/woning")
    values = second.locator("input[name=slot]").all()
    assert f"{day}T11:00:00" not in [r.get_attribute("value") for r in values]
    first.goto(site["base"] + "/woning")
    assert "Uw begeleider komt op" in first.locator("#afspraken").locator("..").inner_text()
    planning = site["app"].planning("TST")
    booked = [a for a in planning.appointments("VHE00001") if a.status.is_open]
    assert [(a.guide, a.slot and a.slot.start.isoformat()) for a in booked] == [
        (GUIDE, f"{day}T11:00:00")
    ]
    assert not [a for a in planning.appointments("VHE00002") if a.status.is_open]
    for context, _ in phones:
        context.close()
