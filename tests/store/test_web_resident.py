"""The resident's page on the real store (SQLite and PostgreSQL), through the real App and a
real mailing: links and codes as printed, sessions, letters per household, refusals, replayed
forms, rate limits, headers and the access log."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pdfplumber
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from keukentafel.bootstrap import App
from keukentafel.domain.model import LeaseParty, PartyRole
from keukentafel.store.models import OpenItemRow, OutboxRow, ResidentAccessRow
from keukentafel.web.logs import redact_path
from tests import builders
from tests import web_builders as wb

TODAY = builders.local_today()
pytestmark = pytest.mark.slow  # a real mailing (PDF letters) per test


@pytest.fixture
def app(engine: Engine, sessions: sessionmaker[Session], tmp_path: Path) -> Iterator[App]:
    builders.run(sessions, builders.register(3))
    url = engine.url.render_as_string(hide_password=False)
    with wb.make_app(tmp_path, url) as application:
        wb.send_proposal(application, TODAY)
        yield application


def client(app: App) -> TestClient:
    return TestClient(app.web(session_secret=b"s" * 32), base_url="https://testserver")


def test_the_printed_code_opens_the_households_page_and_its_letter(app: App) -> None:
    archive = next((app.settings.output_dir / "mailings").glob("*/archief/0002-*.pdf"))
    with pdfplumber.open(archive) as pdf:
        text = " ".join(page.extract_text() or "" for page in pdf.pages)
    match = re.search(r"typ uw code:\s+([A-Z0-9]{5} [A-Z0-9]{5})", text)
    assert match, "the letter prints the code"
    assert "bewoners.example.org/p/P" in text
    web = client(app)
    start = web.get("/p/p")
    token = re.search(r'name="csrf" value="([^"]+)"', start.text)
    assert token and "Renovatie Dorpsstraat" in start.text
    entered = web.post(
        "/p/P",
        data={"code": match.group(1).lower(), "csrf": token.group(1)},
        follow_redirects=False,
    )
    assert entered.status_code == 303 and entered.headers["location"] == "/woning"
    cookie = entered.headers["set-cookie"]
    assert "HttpOnly" in cookie and "Secure" in cookie and "samesite=lax" in cookie.lower()
    page = web.get("/woning")
    assert page.status_code == 200 and "Dorpsstraat 2" in page.text
    assert "Nieuwe kozijnen" in page.text and "020-1234567" in page.text
    letter = re.search(r'href="(/woning/brief/[0-9a-f]{32})"', page.text)
    assert letter
    pdf = web.get(letter.group(1))
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content == archive.read_bytes()


def test_a_link_works_for_its_household_only(app: App, sessions: sessionmaker[Session]) -> None:
    one = client(app)
    assert one.get(wb.path_of(wb.link_for("VHE00001", TODAY, ["R1"]).url)).status_code == 200
    page = one.get("/woning")
    assert "Dorpsstraat 1," in page.text and "Dorpsstraat 2" not in page.text
    two = client(app)
    two.get(wb.path_of(wb.link_for("VHE00002", TODAY, ["R2"]).url))
    other_letter = re.search(r'href="(/woning/brief/[0-9a-f]{32})"', two.get("/woning").text)
    assert other_letter
    assert one.get(other_letter.group(1)).status_code == 404  # household 2's letter
    with sessions() as s:
        used = s.scalars(
            select(ResidentAccessRow.unit_code).where(ResidentAccessRow.first_used_at.is_not(None))
        ).all()
    assert sorted(used) == ["VHE00001", "VHE00002"]


@pytest.mark.parametrize(
    "how",
    ["tampered", "other secret", "expired", "not issued", "garbage"],
)
def test_a_bad_link_gets_the_plain_page_and_records_nothing(
    app: App, sessions: sessionmaker[Session], how: str
) -> None:
    good = wb.link_for("VHE00001", TODAY, ["R1"])
    url = {
        "tampered": good.url[:-3] + ("AAA" if not good.url.endswith("AAA") else "BBB"),
        "other secret": wb.link_for("VHE00001", TODAY, ["R1"], secret="another-secret-0123456").url,
        "expired": wb.link_for("VHE00001", TODAY - timedelta(days=90), ["R1"]).url,
        "not issued": wb.link_for("VHE00003", TODAY, ["R99"]).url,
        "garbage": wb.LINK_BASE + "/v1.e30.AAAA",
    }[how]
    with sessions() as s:
        before = s.scalars(select(ResidentAccessRow.first_used_at)).all()
    answer = client(app).get(wb.path_of(url), follow_redirects=False)
    assert answer.status_code == 404 and "Deze link werkt niet" in answer.text
    assert "set-cookie" not in answer.headers
    with sessions() as s:
        assert s.scalars(select(ResidentAccessRow.first_used_at)).all() == before


def test_a_revoked_link_and_a_new_tenant_end_the_old_link_and_session(
    app: App, sessions: sessionmaker[Session]
) -> None:
    link = wb.path_of(wb.link_for("VHE00001", TODAY, ["R1"]).url)
    web = client(app)
    assert web.get(link).status_code == 200
    snapshot = builders.register(3)
    snapshot.leases[0] = replace(
        snapshot.leases[0], lease_id="L1-NEW", parties=(LeaseParty("R3", PartyRole.TENANT),)
    )
    builders.run(sessions, snapshot, max_shrink=1.0)  # a new tenant moved into VHE00001
    assert web.get("/woning").status_code == 404  # the old session ends with the old lease
    assert client(app).get(link).status_code == 404
    second = wb.path_of(wb.link_for("VHE00002", TODAY, ["R2"]).url)
    assert client(app).get(second).status_code == 200
    with app.sessions.begin() as s:
        s.execute(ResidentAccessRow.__table__.update().values(revoked_at=datetime(2000, 1, 1)))
    assert client(app).get(second).status_code == 404


def test_a_request_is_one_open_item_and_one_e_mail_and_a_replay_adds_nothing(
    app: App, sessions: sessionmaker[Session]
) -> None:
    web = client(app)
    web.get(wb.path_of(wb.link_for("VHE00002", TODAY, ["R2"]).url))
    token = re.search(
        r'name="csrf" value="([^"]+)"', web.get("/woning").text.split('action="/woning/vraag"')[1]
    )
    assert token
    form = {"kind": "question", "text": "Mag mijn kat binnen blijven?", "csrf": token.group(1)}
    assert web.post("/woning/vraag", data=form).status_code == 200
    replay = web.post("/woning/vraag", data=form)
    assert replay.status_code == 409 and "al verstuurd" in replay.text
    assert web.post("/woning/vraag", data={**form, "csrf": "x.y"}).status_code == 400
    with sessions() as s:
        items = s.scalars(select(OpenItemRow)).all()
        mails = s.scalars(
            select(OutboxRow).where(OutboxRow.recipient == "team-mailbox@example.org")
        ).all()
    assert [(i.unit_code, i.kind, i.text) for i in items] == [
        ("VHE00002", "question", "Mag mijn kat binnen blijven?")
    ]
    assert len(mails) == 1 and b"kat" not in mails[0].body  # the words stay on the staff page


def test_code_entry_is_rate_limited_per_address(app: App) -> None:
    web = client(app)
    statuses = []
    for _ in range(6):
        token = re.search(r'name="csrf" value="([^"]+)"', web.get("/p/P").text)
        assert token
        statuses.append(
            web.post("/p/P", data={"code": "AAAAA AAAAA", "csrf": token.group(1)}).status_code
        )
    assert statuses == [400] * 5 + [429]


def test_headers_and_the_access_log_keep_secrets_out(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    answer = client(app).get("/")
    headers = answer.headers
    assert "default-src 'none'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-frame-options"] == "DENY"
    assert "camera=()" in headers["permissions-policy"]
    assert "max-age" in headers["strict-transport-security"]
    link = wb.path_of(wb.link_for("VHE00001", TODAY, ["R1"]).url)
    assert redact_path(link, ["/antwoord"]) == "/antwoord/[link]"
    assert (
        redact_path("/staff/auth/callback?code=abc&state=x", ["/antwoord"])
        == "/staff/auth/callback"
    )
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        "",
        0,
        '%s - "%s %s HTTP/%s" %d',
        ("10.1.2.3:5555", "GET", link, "1.1", 303),
        None,
    )
    logging.getLogger("uvicorn.access").handle(record)
    text = record.getMessage()
    assert "10.1.2.3" not in text and link.rsplit("/", 1)[1] not in text and "[link]" in text
