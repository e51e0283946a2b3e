"""Contractor feeds on the real store (SQLite and PostgreSQL): the change log, paging it while
data changes, webhooks to a fake contractor (verified by the reference library), go / no-go
from a real consent tally, and the privacy table over every channel."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
import standardwebhooks
from icalendar import Calendar
from openpyxl import load_workbook
from sqlalchemy.orm import Session, sessionmaker

from connectors.fakes.contractor import FakeContractor
from keukentafel.config.feeds import ContractorConfig
from keukentafel.domain.consent import Ledger, ProjectTally, read_case
from keukentafel.domain.model import PracticalNeed, Project, RestrictedNote
from keukentafel.domain.planning.appointments import Slot
from keukentafel.domain.planning.feed import (
    CALENDAR_LABELS,
    EXPORT_COLUMNS,
    FEED_FIELDS,
    keys_of,
)
from keukentafel.domain.planning.webhooks import secret_text
from keukentafel.feeds.calendar import to_ics
from keukentafel.feeds.exports import to_csv, to_xlsx
from keukentafel.feeds.sender import WebhookSender
from keukentafel.store.models import RestrictedNoteRow
from keukentafel.usecases.appointments import Booking, book_home_visit, plan_work_days
from keukentafel.usecases.feeds import (
    ContractorFeed,
    TallyGate,
    changes_page,
    current_records,
    deliver_webhooks,
    enable_endpoint,
    feed_counts,
    refresh_feed,
)
from tests.builders import CORP, RENOVATION, register, run

UNITS = 24
ON = date(2027, 5, 1)
SECRET = secret_text(b"s" * 32)
HOURS = (time(7, 30), time(16))


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2027, 5, 1, 8, 0)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class ConsentCase:
    """A consent case the test edits (answers), read into a real tally by the consent domain."""

    answers: list[dict[str, Any]] = field(default_factory=list)

    def tally(self, project: Project, on: date) -> ProjectTally | None:
        case = {
            "project": {"code": project.code, "kind": project.kind.value},
            # Counted over respondents, so the first agreement meets the threshold (a unit goes
            # only then: tests/store/test_consent_wiring.py has the all-tenants case).
            "profile": {"legal_basis": "art. 7:220 lid 3 BW", "denominator": "respondents"},
            "units": [
                {"code": f"VHE{n:05d}", "tenure": "corporation_rental"} for n in range(1, UNITS + 1)
            ],
            "leases": [
                {
                    "id": f"L{n}",
                    "unit": f"VHE{n:05d}",
                    "start": "2015-01-01",
                    "parties": [{"party": f"R{n}", "role": "tenant", "start": "2015-01-01"}],
                }
                for n in range(1, UNITS + 1)
            ],
            "answers": self.answers,
        }
        read = read_case(case, now=datetime(2027, 5, 1, 12, tzinfo=UTC))
        ledger = Ledger(read.scope)
        ledger.admit_all(read.entries)
        return ledger.tally(on)

    def agree(self, unit: int) -> None:
        self.answers.append(
            {
                "id": f"a{len(self.answers)}",
                "unit": f"VHE{unit:05d}",
                "answer": "agree",
                "at": "2027-04-20",
                "channel": "paper",
            }
        )


FEED = ContractorFeed("BOUW", (RENOVATION,), batch_size=10, webhooks=True)


@pytest.fixture
def store(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    run(sessions, register(UNITS))
    return sessions


def refresh(
    sessions: sessionmaker[Session], case: ConsentCase, clock: Clock, feed: ContractorFeed = FEED
) -> int:
    report = refresh_feed(sessions, CORP, feed, TallyGate(case.tally), on=ON, clock=clock)
    return report.changed + report.removed


def page_all(
    sessions: sessionmaker[Session], cursor: str | None, limit: int
) -> Iterator[dict[str, Any]]:
    while True:
        page = changes_page(sessions, CORP, "BOUW", cursor, limit)
        body = json.loads(page.body)
        yield from body["changes"]
        cursor = body["next_cursor"]
        if not body["has_more"]:
            return


def test_the_log_records_what_changed_and_only_that(store: sessionmaker[Session]) -> None:
    case, clock = ConsentCase(), Clock()
    assert refresh(store, case, clock) == UNITS
    assert refresh(store, case, clock) == 0  # nothing changed: nothing logged
    case.agree(3)
    assert refresh(store, case, clock) == 1
    records = {r.key: r.data for r in current_records(store, CORP, "BOUW")}
    assert records["eenheid:VHE00003"]["doorgang"] == "go"
    assert records["eenheid:VHE00004"]["doorgang"] == "no_go"
    run(store, register(UNITS - 1), max_shrink=1.0)  # a unit leaves the register
    assert refresh(store, case, clock) == 1
    last = list(page_all(store, None, 500))[-1]
    assert last["key"] == f"eenheid:VHE{UNITS:05d}" and last["deleted"] is True
    counts = feed_counts(store, CORP, "BOUW")
    assert counts.records == UNITS - 1 and counts.last_sequence == UNITS + 2
    assert counts.webhooks["pending"] == 3 + 1 + 1  # 24 changes in batches of 10, then 1, 1


def test_paging_while_units_appointments_and_consent_change_sees_every_change_once_in_order(
    store: sessionmaker[Session],
) -> None:
    case, clock = ConsentCase(), Clock()
    book = Booking("cli:test", clock=clock)
    refresh(store, case, clock)
    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    edits = iter(
        [
            lambda: case.agree(5),  # consent
            lambda: run(store, _renamed(register(UNITS), 7)),  # a unit's household changes
            lambda: plan_work_days(  # an appointment
                store,
                RENOVATION,
                "BOUW",
                "VHE00009",
                "keuken",
                Slot.days(date(2027, 5, 12), date(2027, 5, 14), HOURS),
                book,
            ),
            lambda: case.agree(1),
            lambda: plan_work_days(  # the appointment moves
                store,
                RENOVATION,
                "BOUW",
                "VHE00009",
                "keuken",
                Slot.days(date(2027, 5, 19), date(2027, 5, 21), HOURS),
                book,
            ),
            lambda: run(store, _renamed(register(UNITS - 2), 7), max_shrink=1.0),  # two leave
        ]
    )
    while True:
        page = json.loads(changes_page(store, CORP, "BOUW", cursor, 7).body)
        seen += page["changes"]
        cursor = page["next_cursor"]
        edit = next(edits, None)
        if edit is not None:  # data changes between two pages
            edit()
            refresh(store, case, clock)
        elif not page["has_more"]:
            break
    sequences = [c["sequence"] for c in seen]
    assert sequences == list(range(1, len(seen) + 1))  # every change once, in order, no gap
    logged = list(page_all(store, None, 500))
    assert [c["sequence"] for c in logged] == sequences
    latest: dict[str, Any] = {}
    for change in seen:
        latest[change["key"]] = None if change["deleted"] else change["data"]
    current = {r.key: r.data for r in current_records(store, CORP, "BOUW")}
    assert {k: v for k, v in latest.items() if v is not None} == current
    assert current["eenheid:VHE00005"]["doorgang"] == "go"
    assert current["eenheid:VHE00007"]["relaties"][0]["achternaam"] == "Verhuisd7"
    work = [v for k, v in current.items() if k.startswith("afspraak:")]
    assert len(work) == 1 and work[0]["begindatum"] == "2027-05-19T05:30:00Z"
    assert f"eenheid:VHE{UNITS:05d}" not in current


def _renamed(snapshot: Any, n: int) -> Any:
    snapshot.residents[n - 1] = replace(
        snapshot.residents[n - 1],
        name=replace(snapshot.residents[n - 1].name, surname=f"Verhuisd{n}"),
    )
    return snapshot


def test_a_bad_cursor_is_refused(store: sessionmaker[Session]) -> None:
    from keukentafel.usecases.feeds import BadCursor

    with pytest.raises(BadCursor):
        changes_page(store, CORP, "BOUW", "-1; DROP TABLE", 10)


# --- webhooks ------------------------------------------------------------------------------------


def reference_verifier(secret: str) -> Any:
    hook = standardwebhooks.Webhook(secret)
    return lambda body, headers: hook.verify(body, dict(headers))


def sender_for(fake: FakeContractor, secrets: Sequence[str] = (SECRET,)) -> WebhookSender:
    env = {f"KT_WHSEC_{i}": s for i, s in enumerate(secrets)}
    config = ContractorConfig.model_validate(
        {
            "code": "BOUW",
            "name": "Bouw",
            "projects": ["P"],
            "webhook": {"url": fake.hook_url, "secret_envs": list(env)},
        }
    )
    return WebhookSender([config], env)


def deliver(sessions: sessionmaker[Session], sender: WebhookSender, clock: Clock) -> Any:
    return deliver_webhooks(sessions, CORP, ["BOUW"], sender, clock=clock)


def test_every_webhook_verifies_with_the_reference_library_and_a_repeat_is_applied_once(
    store: sessionmaker[Session],
) -> None:
    case, clock = ConsentCase(), Clock()
    refresh(store, case, clock)
    with FakeContractor([SECRET], verifier=reference_verifier(SECRET)) as fake:
        fake.lose_answers = 1  # the first is applied but its answer never arrives
        report = deliver(store, sender_for(fake), clock)
        assert report.retrying == {"BOUW": 1} and len(fake.applied) == 1
        clock.now += timedelta(seconds=6)  # the schedule's first retry
        report = deliver(store, sender_for(fake), clock)
        assert report.delivered == {"BOUW": 3}
        assert fake.duplicates == 1  # delivered twice, applied once
        assert sorted(fake.sequence_log) == list(range(1, UNITS + 1))
        ids = [d.headers["webhook-id"] for d in fake.deliveries]
        assert ids[0] == ids[1] and len(set(ids)) == 3  # the retry kept its id
        for delivery in fake.deliveries:  # every request, verified again by the reference
            standardwebhooks.Webhook(SECRET).verify(delivery.body, delivery.headers)
            assert delivery.status in (0, 200)
        assert set(fake.current()) == {r.key for r in current_records(store, CORP, "BOUW")}
    assert feed_counts(store, CORP, "BOUW").webhooks == {"pending": 0, "sent": 3, "failed": 0}


def test_a_rotated_secret_signs_alongside_the_old_one(store: sessionmaker[Session]) -> None:
    new = secret_text(b"n" * 40)
    case, clock = ConsentCase(), Clock()
    refresh(store, case, clock)
    with FakeContractor([new], verifier=reference_verifier(new)) as fake:
        report = deliver(store, sender_for(fake, [SECRET, new]), clock)
        assert report.delivered == {"BOUW": 3}
        for delivery in fake.deliveries:
            standardwebhooks.Webhook(SECRET).verify(delivery.body, delivery.headers)


def test_failures_wait_in_order_and_410_disables_the_endpoint(
    store: sessionmaker[Session],
) -> None:
    from connectors.fakes._server import Fault

    case, clock = ConsentCase(), Clock()
    refresh(store, case, clock)
    with FakeContractor([SECRET]) as fake:
        fake.faults.add(Fault(method="POST", status=500, times=1))
        report = deliver(store, sender_for(fake), clock)
        assert report.retrying == {"BOUW": 1} and not fake.applied
        assert deliver(store, sender_for(fake), clock).waiting == {"BOUW": 3}  # not due yet
        clock.now += timedelta(seconds=5)
        fake.gone = True
        report = deliver(store, sender_for(fake), clock)
        assert report.disabled == ["BOUW"] and feed_counts(store, CORP, "BOUW").disabled
        clock.now += timedelta(hours=1)
        assert deliver(store, sender_for(fake), clock).waiting == {"BOUW": 3}  # nothing sent
        assert fake.count("POST") == 2  # the 500 and the 410; nothing since
        fake.gone = False
        enable_endpoint(store, CORP, "BOUW", clock=clock)
        assert deliver(store, sender_for(fake), clock).delivered == {"BOUW": 3}
        assert sorted(fake.sequence_log) == list(range(1, UNITS + 1))


# --- the privacy table over every channel -----------------------------------------------------------

FORBIDDEN = (
    "gezondheid",
    "health",
    "zorg",
    "care",
    "diagnose",
    "beperking",
    "disability",
    "verslaving",
    "addiction",
    "inkomen",
    "income",
    "huurachterstand",
    "achterstand",
    "arrears",
    "schuld",
    "debt",
    "bsn",
    "politie",
    "overlast",
    "notitie",
    "note",
    "opmerking",
    "restricted",
    "language",
    "taal",
    "geslacht",
    "gender",
    "geboortedatum",
)
CANARY = "CANARY-diabetes-en-schulden"


def test_no_field_outside_the_privacy_table_reaches_any_feed_or_export(
    store: sessionmaker[Session],
) -> None:
    snapshot = register(UNITS)
    snapshot.residents[0] = replace(
        snapshot.residents[0],
        needs=frozenset({PracticalNeed.INTERPRETER, PracticalNeed.CALL_GUIDE_FIRST}),
        language="tr",
    )
    run(store, snapshot)
    with store.begin() as session:  # a restricted note, the kind of thing that must never travel
        note = RestrictedNote("R1", CANARY, "begeleider")
        session.add(
            RestrictedNoteRow(
                corporation_code=CORP,
                relation_id=note.relation_id,
                text=note.text,
                author=note.author,
                created_at=datetime(2027, 1, 1),
            )
        )
    case, clock = ConsentCase(), Clock()
    book = Booking("cli:test", clock=clock)
    plan_work_days(
        store,
        RENOVATION,
        "BOUW",
        "VHE00001",
        "keuken",
        Slot.days(date(2027, 5, 12), date(2027, 5, 14), HOURS),
        book,
        team="noord",
    )
    book_home_visit(
        store,
        RENOVATION,
        "VHE00002",
        "gids@example.org",
        Slot(datetime(2027, 5, 3, 10), datetime(2027, 5, 3, 11)),
        book,
    )
    refresh(store, case, clock)
    with FakeContractor([SECRET]) as fake:
        deliver(store, sender_for(fake), clock)
        bodies = [d.body for d in fake.deliveries]
    pages = [changes_page(store, CORP, "BOUW", None, 500).body]
    records = current_records(store, CORP, "BOUW")
    csv_text = to_csv(records).decode("utf-8-sig")
    workbook = load_workbook(io.BytesIO(to_xlsx(records)))
    sheet = workbook.active
    assert sheet is not None
    xlsx_rows = [[c.value for c in row] for row in sheet.iter_rows()]
    ics = to_ics(records, "BOUW")

    for raw in [*bodies, *pages]:
        assert keys_of(json.loads(raw)) <= FEED_FIELDS
    assert csv_text.splitlines()[0].split(";") == list(EXPORT_COLUMNS)
    assert xlsx_rows[0] == list(EXPORT_COLUMNS)
    events = Calendar.from_ical(ics).walk("VEVENT")
    assert len(events) == 1  # the contractor's work days only, not the guide's visit
    labels = {line.split(":", 1)[0] for line in str(events[0]["description"]).splitlines()}
    assert labels <= set(CALENDAR_LABELS)
    everything = "\n".join(
        [
            *(b.decode() for b in bodies),
            *(p.decode() for p in pages),
            csv_text,
            json.dumps(xlsx_rows),
            ics.decode(),
        ]
    ).lower()
    assert CANARY.lower() not in everything
    for word in FORBIDDEN:
        assert f'"{word}"' not in everything, word  # no such key in any JSON
    for header in (*EXPORT_COLUMNS, *CALENDAR_LABELS):
        assert not any(word in header.lower() for word in FORBIDDEN), header
    unit = json.loads(pages[0])["changes"][0]["data"]
    assert unit["kenmerken"] == ["eerst_bewonersbegeleider_bellen", "tolk"]
    assert "contactgegevens" not in json.dumps(unit)  # contact only inside appointments
    assert "keukentafelgesprek" not in everything  # the guide's visit is not the contractor's


def test_exports_are_safe_against_formula_injection(sessions: sessionmaker[Session]) -> None:
    store = sessions
    snapshot = register(3)
    evil = '=HYPERLINK("http://evil.example","klik")'
    first = snapshot.residents[0]
    assert first.name is not None
    snapshot.residents[0] = replace(
        first, name=replace(first.name, surname=evil, initials="", tussenvoegsel="")
    )
    address = snapshot.units[1].address
    snapshot.units[1] = replace(snapshot.units[1], address=replace(address, street="@SUM(A1:A9)"))
    run(store, snapshot)
    refresh(store, ConsentCase(), Clock(), ContractorFeed("BOUW", (RENOVATION,)))
    records = current_records(store, CORP, "BOUW")
    table = list(csv.reader(io.StringIO(to_csv(records).decode("utf-8-sig")), delimiter=";"))
    cells = [cell for row in table[1:] for cell in row]
    assert f"'{evil}" in cells and "'@SUM(A1:A9)" in cells
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)
    workbook = load_workbook(io.BytesIO(to_xlsx(records)))
    sheet = workbook.active
    assert sheet is not None
    values = [cell.value for row in sheet.iter_rows(min_row=2) for cell in row]
    assert f"'{evil}" in values and "'@SUM(A1:A9)" in values
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            assert cell.data_type in ("s", "inlineStr", "n") and cell.data_type != "f"
            assert not str(cell.value or "").startswith(("=", "+", "-", "@"))


def test_the_calendar_keeps_its_uid_and_raises_sequence_on_every_change(
    store: sessionmaker[Session],
) -> None:
    case, clock = ConsentCase(), Clock()
    book = Booking("cli:test", clock=clock)
    days = [
        Slot.days(date(2027, 5, 12), date(2027, 5, 14), HOURS),
        Slot.days(date(2027, 5, 19), date(2027, 5, 21), HOURS),
        Slot.days(date(2027, 5, 26), date(2027, 5, 28), HOURS),
    ]
    seen: list[tuple[str, int, str]] = []
    for slot in days:
        plan_work_days(store, RENOVATION, "BOUW", "VHE00004", "badkamer", slot, book, team="zuid")
        refresh(store, case, clock)
        event = Calendar.from_ical(
            to_ics(current_records(store, CORP, "BOUW"), "BOUW", team="zuid")
        ).walk("VEVENT")[0]
        seen.append((str(event["uid"]), int(event["sequence"]), event["dtstart"].dt.isoformat()))
    assert len({uid for uid, _, _ in seen}) == 1
    assert [sequence for _, sequence, _ in seen] == [0, 1, 2]
    assert seen[-1][2] == "2027-05-26T05:30:00+00:00"
    other = Calendar.from_ical(to_ics(current_records(store, CORP, "BOUW"), "BOUW", team="noord"))
    assert other.walk("VEVENT") == []
