"""The planning domain: appointment states and letters, free slots, the contractor's records,
Standard Webhooks, contractor messages and the ERP payloads (pure, no store)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime, time, timedelta

import pytest
import standardwebhooks

from keukentafel.domain.consent.state import UnitStatus
from keukentafel.domain.messages import MessageKind
from keukentafel.domain.model import (
    ContactKind,
    ContactPoint,
    Household,
    PartyRole,
    PracticalNeed,
    ProjectKind,
)
from keukentafel.domain.planning.appointments import (
    Appointment,
    AppointmentKind,
    AppointmentStatus,
    PlanningError,
    Slot,
    checked_element,
    hours_of,
    notice_for,
    period_text,
    start_text,
)
from keukentafel.domain.planning.erp import appointment_write, letter_contact_moment
from keukentafel.domain.planning.feed import (
    FEED_FIELDS,
    ContactPreference,
    appointment_item,
    go_by_unit,
    keys_of,
    unit_item,
)
from keukentafel.domain.planning.inbound import ChangeKind, MessageRefused, parse_csv, parse_message
from keukentafel.domain.planning.slots import WorkingHours, free_slots
from keukentafel.domain.planning.webhooks import (
    MAX_ATTEMPTS,
    Outcome,
    WebhookInvalid,
    WebhookSecretError,
    headers_for,
    next_attempt,
    outcome_of,
    parse_secret,
    secret_text,
    verify,
)
from tests.builders import resident, unit

S = AppointmentStatus
DAY = date(2027, 5, 12)  # a Wednesday


def slot(day: date = DAY, start: int = 10, hours: int = 1) -> Slot:
    return Slot(datetime.combine(day, time(start)), datetime.combine(day, time(start + hours)))


def visit(
    status: AppointmentStatus = S.PLANNED, at: Slot | None = None, **kw: object
) -> Appointment:
    values: dict[str, object] = {
        "code": "AFS-1",
        "corporation_code": "TST",
        "project_code": "P",
        "unit_code": "VHE00001",
        "kind": AppointmentKind.HOME_VISIT,
        "status": status,
        "slot": at if at is not None else slot(),
        "title": "Keukentafelgesprek",
    }
    values.update(kw)
    return Appointment(**values)  # type: ignore[arg-type]


# --- states ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "to", "allowed"),
    [
        (S.REQUESTED, S.PLANNED, True),
        (S.REQUESTED, S.CANCELLED, True),
        (S.REQUESTED, S.DONE, False),
        (S.PLANNED, S.DONE, True),
        (S.PLANNED, S.CANCELLED, True),
        (S.DONE, S.CANCELLED, False),
        (S.DONE, S.PLANNED, False),
        (S.CANCELLED, S.PLANNED, False),
        (S.CANCELLED, S.DONE, False),
    ],
)
def test_the_life_cycle_allows_only_vera_moves(
    start: AppointmentStatus, to: AppointmentStatus, allowed: bool
) -> None:
    before = visit(start)
    if allowed:
        after = before.moved_to(to, slot(start=14))
        assert after.status is to and after.version == before.version + 1
    else:
        with pytest.raises(PlanningError, match="cannot become"):
            before.moved_to(to, slot(start=14))


def test_planning_the_same_slot_again_changes_nothing() -> None:
    before = visit()
    assert before.moved_to(S.PLANNED, slot()) is before
    assert before.moved_to(S.PLANNED, slot(start=11)).version == 2


def test_planning_needs_a_slot() -> None:
    with pytest.raises(PlanningError, match="date and time"):
        visit(S.REQUESTED, at=None, slot=None).moved_to(S.PLANNED)


def test_status_codes_are_vera_afspraakstatus() -> None:
    assert [(s.value, s.naam) for s in S] == [
        ("AAN", "Aangevraagd"),
        ("GEP", "Gepland"),
        ("AFG", "Afgerond"),
        ("ANN", "Geannuleerd"),
    ]


# --- the letter of each version -----------------------------------------------------------------


def test_a_first_planned_version_is_confirmed_with_its_event() -> None:
    notice = notice_for(visit())
    assert notice is not None and notice.kind is MessageKind.APPOINTMENT_CONFIRMATION
    assert notice.event is not None and notice.event.event_id == "afspraak-AFS-1"
    assert notice.details == {"purpose": "keukentafelgesprek", "previous_start_text": ""}


def test_a_move_after_the_household_was_told_is_a_change_letter_with_the_old_start() -> None:
    told = visit().told()
    moved = told.moved_to(S.PLANNED, slot(start=14))
    notice = notice_for(moved)
    assert notice is not None and notice.kind is MessageKind.APPOINTMENT_CHANGE
    assert notice.details["previous_start_text"] == "woensdag 12 mei 2027 om 10.00 uur"
    assert notice.event is not None and notice.event.start.hour == 14


def test_two_moves_before_a_letter_went_out_tell_only_the_last_against_what_was_told() -> None:
    told = visit().told()
    twice = told.moved_to(S.PLANNED, slot(start=14)).moved_to(S.PLANNED, slot(start=15))
    notice = notice_for(twice)
    assert notice is not None
    assert notice.details["previous_start_text"].endswith("om 10.00 uur")


def test_a_contractors_delay_is_the_delay_letter_with_the_new_period() -> None:
    days = Slot.days(DAY, DAY + timedelta(days=2), hours_of("07:30-16:00"))
    work = visit(
        at=days, kind=AppointmentKind.WORK_DAYS, element="keuken", title="Werk aan uw keuken"
    ).told()
    later = Slot.days(DAY + timedelta(days=14), DAY + timedelta(days=16), hours_of("07:30-16:00"))
    delayed = work.moved_to(S.PLANNED, later, delay_reason="de keukens komen later")
    notice = notice_for(delayed)
    assert notice is not None and notice.kind is MessageKind.DELAY_NOTICE
    assert notice.details == {
        "reason_text": "de keukens komen later",
        "new_period_text": "woensdag 26 mei tot en met vrijdag 28 mei 2027",
    }
    assert notice.event is not None and notice.event.event_id == "afspraak-AFS-1"


def test_a_cancellation_after_a_letter_says_the_old_one_is_off() -> None:
    cancelled = visit().told().moved_to(S.CANCELLED)
    notice = notice_for(cancelled)
    assert notice is not None and notice.kind is MessageKind.APPOINTMENT_CHANGE
    assert notice.event is None
    assert notice.details["previous_start_text"].startswith("woensdag 12 mei 2027")


@pytest.mark.parametrize(
    "appointment",
    [
        visit(S.REQUESTED, slot=None),
        visit().moved_to(S.CANCELLED),  # cancelled before anyone was told
        visit().told().moved_to(S.DONE),
    ],
)
def test_versions_that_need_no_letter(appointment: Appointment) -> None:
    assert notice_for(appointment) is None


def test_dutch_periods_and_times() -> None:
    assert period_text(slot()) == "woensdag 12 mei 2027"
    assert period_text(Slot.days(date(2027, 12, 30), date(2028, 1, 2), (time(8), time(16)))) == (
        "donderdag 30 december 2027 tot en met zondag 2 januari 2028"
    )
    assert start_text(datetime(2027, 5, 12, 9, 5)) == "woensdag 12 mei 2027 om 9.05 uur"


@pytest.mark.parametrize("text", ["keuken", "Badkamer ", "cv-ketel", "dak/goot"])
def test_a_work_element_is_a_short_word(text: str) -> None:
    assert checked_element(text) == " ".join(text.split()).lower()


@pytest.mark.parametrize("text", ["", "x" * 41, "keuken; bewoner is ziek en heeft 'n hond: bel!"])
def test_free_text_is_no_work_element(text: str) -> None:
    with pytest.raises(PlanningError):
        checked_element(text)


@pytest.mark.parametrize("text", ["16:00-07:30", "morning", "07:30"])
def test_bad_work_hours_are_refused(text: str) -> None:
    with pytest.raises(PlanningError):
        hours_of(text)


# --- free slots -------------------------------------------------------------------------------


def test_free_slots_skip_busy_time_weekends_and_the_past() -> None:
    busy = [slot(start=9, hours=2), slot(DAY + timedelta(days=1), start=13, hours=4)]
    found = free_slots(
        busy,
        DAY,
        DAY + timedelta(days=4),  # Wednesday to Sunday
        length=timedelta(hours=1),
        hours=WorkingHours(time(9), time(17)),
        step=timedelta(hours=1),
        not_before=datetime.combine(DAY, time(12)),
    )
    starts = [(s.start.date(), s.start.hour) for s in found]
    assert starts[:5] == [(DAY, 12), (DAY, 13), (DAY, 14), (DAY, 15), (DAY, 16)]
    thursday = [h for d, h in starts if d == DAY + timedelta(days=1)]
    assert thursday == [9, 10, 11, 12]
    assert all(d.weekday() < 5 for d, _ in starts)
    assert not any(s.overlaps(b) for s in found for b in busy)


# --- what a contractor sees ---------------------------------------------------------------------


def _household(needs: frozenset[PracticalNeed] = frozenset()) -> Household:
    tenant = resident(1)
    tenant = type(tenant)(
        tenant.relation_id,
        tenant.name,
        contacts=(
            ContactPoint(ContactKind.MOBILE, "06-11112222", True),
            ContactPoint(ContactKind.EMAIL, "r1@example.org"),
        ),
        needs=needs,
    )
    return Household(unit(1), ((tenant, PartyRole.TENANT),))


def test_a_unit_record_has_names_address_go_and_flags_but_no_contact() -> None:
    needs = frozenset({PracticalNeed.INTERPRETER, PracticalNeed.VISIT_WITH_TWO})
    item = unit_item(_household(needs), "P", go=False)
    assert item.data is not None
    assert item.data["doorgang"] == "no_go"
    assert item.data["kenmerken"] == ["met_twee_personen", "tolk"]
    assert item.data["relaties"] == [
        {"voorletters": "J.", "tussenvoegsels": "de", "achternaam": "Jansen1"}
    ]
    assert "06-11112222" not in json.dumps(item.data)
    assert keys_of(item.data) <= FEED_FIELDS


def test_contact_details_travel_only_inside_an_open_appointment() -> None:
    household = _household()
    preferences = {"R1": ContactPreference("phone", "na 17.00 uur")}
    planned = appointment_item(visit(), household, True, preferences)
    done = appointment_item(visit(S.DONE), household, True, preferences)
    assert planned.data is not None and done.data is not None
    relation = planned.data["relaties"][0]
    assert relation["voorkeurskanaal"] == "TEL" and relation["bereikbaar"] == "na 17.00 uur"
    assert {"soort": {"code": "MOB"}, "waarde": "06-11112222"} in relation["contactgegevens"]
    assert "contactgegevens" not in done.data["relaties"][0]
    assert planned.data["status"] == {"code": "GEP", "naam": "Gepland"}
    assert planned.data["begindatum"] == "2027-05-12T08:00:00Z"  # 10:00 in Amsterdam summer time
    assert keys_of(planned.data) <= FEED_FIELDS


def test_the_digest_follows_the_content() -> None:
    a = unit_item(_household(), "P", go=False)
    assert a.digest == unit_item(_household(), "P", go=False).digest
    assert a.digest != unit_item(_household(), "P", go=True).digest


@pytest.mark.parametrize(
    ("kind", "statuses", "expected"),
    [
        (ProjectKind.DEMOLITION, None, True),
        (ProjectKind.MAJOR_MAINTENANCE, None, True),
        (ProjectKind.RENOVATION_OCCUPIED, None, False),
        (ProjectKind.RENOVATION_OCCUPIED, [UnitStatus.AGREED], True),
        (ProjectKind.RENOVATION_OCCUPIED, [UnitStatus.AGREED, UnitStatus.DECLINED], False),
        (ProjectKind.RENOVATION_OCCUPIED, [UnitStatus.INCOMPLETE], False),
        (ProjectKind.RENOVATION_OCCUPIED, [UnitStatus.NO_ANSWER], False),
        (ProjectKind.RENOVATION_MOVED_OUT, [UnitStatus.VACANT], True),
        (ProjectKind.RENOVATION_OCCUPIED, [UnitStatus.OWNER], False),
        (ProjectKind.RENOVATION_OCCUPIED, [UnitStatus.EXCLUDED], False),
        (ProjectKind.RENOVATION_OCCUPIED, [], False),
    ],
)
def test_go_no_go_from_the_tally(
    kind: ProjectKind, statuses: list[UnitStatus] | None, expected: bool
) -> None:
    by_unit = None if statuses is None else {"U1": statuses}
    assert go_by_unit(kind, ["U1"], by_unit) == {"U1": expected}


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (ProjectKind.RENOVATION_OCCUPIED, False),
        (ProjectKind.RENOVATION_MOVED_OUT, False),
        (ProjectKind.MAJOR_MAINTENANCE, True),
        (ProjectKind.DEMOLITION, True),
    ],
)
def test_below_the_threshold_no_unit_of_a_consent_project_goes(
    kind: ProjectKind, expected: bool
) -> None:
    agreed = {"U1": [UnitStatus.AGREED], "U2": [UnitStatus.VACANT]}
    found = go_by_unit(kind, ["U1", "U2"], agreed, threshold_met=False)
    assert found == {"U1": expected, "U2": expected}
    assert go_by_unit(kind, ["U1", "U2"], agreed, threshold_met=True) == {"U1": True, "U2": True}


# --- Standard Webhooks ---------------------------------------------------------------------------

SECRET = secret_text(b"k" * 32)
NEXT = secret_text(b"n" * 32)


def test_every_signature_verifies_with_the_reference_library() -> None:
    body = b'{"type":"planning.changes","data":{"changes":[]}}'
    stamp = int(datetime.now(UTC).timestamp())
    headers = headers_for([parse_secret(SECRET)], "msg_abc123", stamp, body)
    assert standardwebhooks.Webhook(SECRET).verify(body, headers) == json.loads(body)
    assert verify([parse_secret(SECRET)], headers, body, datetime.now(UTC)) == "msg_abc123"


def test_while_rotating_both_secrets_sign_and_either_receiver_accepts() -> None:
    body = b"{}"
    stamp = int(datetime.now(UTC).timestamp())
    headers = headers_for([parse_secret(SECRET), parse_secret(NEXT)], "msg_1", stamp, body)
    assert headers["webhook-signature"].count("v1,") == 2
    for secret in (SECRET, NEXT):
        standardwebhooks.Webhook(secret).verify(body, headers)
        verify([parse_secret(secret)], headers, body, datetime.now(UTC))


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"body": b'{"x":2}'}, "no signature"),
        ({"id": "msg_2"}, "no signature"),
        ({"age": 600}, "too far"),
        ({"drop": "webhook-id"}, "missing"),
    ],
)
def test_a_tampered_replayed_or_incomplete_webhook_is_invalid(
    change: dict[str, object], reason: str
) -> None:
    body = b'{"x":1}'
    now = datetime.now(UTC)
    stamp = int(now.timestamp()) - int(change.get("age", 0))  # type: ignore[call-overload]
    headers = headers_for([parse_secret(SECRET)], "msg_1", stamp, body)
    if "id" in change:
        headers["webhook-id"] = str(change["id"])
    if "drop" in change:
        del headers[str(change["drop"])]
    sent = change.get("body", body)
    assert isinstance(sent, bytes)
    with pytest.raises(WebhookInvalid, match=reason):
        verify([parse_secret(SECRET)], headers, sent, now)


@pytest.mark.parametrize(
    "text", ["whsec_" + base64.b64encode(b"short").decode(), "whsec_not base64!", ""]
)
def test_a_bad_secret_is_refused(text: str) -> None:
    with pytest.raises(WebhookSecretError):
        parse_secret(text)


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, Outcome.DELIVERED),
        (204, Outcome.DELIVERED),
        (410, Outcome.DISABLE),
        (301, Outcome.RETRY),
        (404, Outcome.RETRY),
        (429, Outcome.RETRY),
        (500, Outcome.RETRY),
        (0, Outcome.RETRY),
    ],
)
def test_what_an_answer_means(status: int, outcome: Outcome) -> None:
    assert outcome_of(status) is outcome


def test_retries_follow_the_schedule_and_retry_after_and_end() -> None:
    now = datetime(2027, 1, 1, 12, 0)
    assert next_attempt(1, now) == now + timedelta(seconds=5)
    assert next_attempt(2, now) == now + timedelta(minutes=5)
    assert next_attempt(1, now, retry_after=120) == now + timedelta(seconds=120)
    assert next_attempt(2, now, retry_after=1) == now + timedelta(minutes=5)
    assert next_attempt(MAX_ATTEMPTS, now) is None


# --- what comes back from a contractor -----------------------------------------------------------


def test_a_delay_message_is_read_line_by_line_and_bad_lines_are_kept_aside() -> None:
    message = parse_message(
        {
            "type": "afspraken.vertraagd",
            "data": {
                "reden": "  De keukens   worden later geleverd. ",
                "afspraken": [
                    {"code": "AFS-1", "begindatum": "2027-05-26", "einddatum": "2027-05-28"},
                    {
                        "eenheid": {"code": "VHE2"},
                        "onderwerp": "keuken",
                        "begindatum": "2027-05-27T05:30:00Z",
                        "einddatum": "2027-05-29",
                    },
                    {
                        "eenheid": {"code": "VHE3"},
                        "begindatum": "2027-05-27",
                        "einddatum": "2027-05-29",
                    },
                    {"code": "AFS-4", "begindatum": "27 mei", "einddatum": "2027-05-29"},
                    {"code": "AFS-5", "begindatum": "2027-05-29", "einddatum": "2027-05-27"},
                    "nonsense",
                ],
            },
        }
    )
    assert message.kind is ChangeKind.DELAYED
    assert [c.line for c in message.changes] == [1, 2]
    assert message.changes[0].reason == "De keukens worden later geleverd."
    assert message.changes[1].first_day == date(2027, 5, 27)
    assert [(r.line, r.unit_code) for r in message.refused] == [
        (3, "VHE3"),
        (4, ""),
        (5, ""),
        (6, ""),
    ]


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ([], "not a JSON object"),
        ({"type": "afspraken.verplaatst", "data": {"afspraken": [{}]}}, "unknown type"),
        ({"type": "afspraken.gewijzigd", "data": {"afspraken": []}}, "missing or empty"),
        ({"type": "afspraken.vertraagd", "data": {"afspraken": [{"code": "A"}]}}, "reden"),
    ],
)
def test_an_unusable_message_is_refused_whole(payload: object, reason: str) -> None:
    with pytest.raises(MessageRefused, match=reason):
        parse_message(payload)


def test_the_same_changes_come_in_as_a_file() -> None:
    data = (
        "\ufefftype;code;eenheid;onderwerp;begindatum;einddatum;reden\n"
        "afspraken.gewijzigd;AFS-1;;;2027-06-01;2027-06-02;\n"
        "afspraken.gewijzigd;;VHE2;Keuken;2027-06-03;2027-06-04;\n"
    ).encode()
    message = parse_csv(data)
    assert message.kind is ChangeKind.CHANGED
    assert [(c.code, c.unit_code, c.element) for c in message.changes] == [
        ("AFS-1", "", ""),
        ("", "VHE2", "Keuken"),
    ]
    mixed = data + b"afspraken.afgerond;AFS-3;;;;;\n"
    with pytest.raises(MessageRefused, match="one type per file"):
        parse_csv(mixed)


# --- back to the corporation ---------------------------------------------------------------------


def test_erp_writes_have_keys_that_survive_a_restart() -> None:
    household = _household()
    first = appointment_write(visit(), household)
    again = appointment_write(visit(), household)
    moved = appointment_write(visit().moved_to(S.PLANNED, slot(start=14)), household)
    assert first.key == again.key == moved.key and moved.version == 2
    assert first.payload["idExtern"] == first.key
    assert first.payload["status"]["code"] == "GEP"
    letter = letter_contact_moment(
        visit(), household, MessageKind.APPOINTMENT_CONFIRMATION, datetime(2027, 5, 1, 9)
    )
    assert letter.payload["kanaal"] == {"code": "BRI"} and letter.payload["richting"] == {
        "code": "UIT"
    }
    assert letter.key != first.key
