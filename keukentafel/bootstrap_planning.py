"""The planning part of the composition root: appointments and contractor feeds, wired.

``App.planning(code)`` (keukentafel/bootstrap.py) gives a :class:`Planning` for one corporation;
entry points (the ``planning`` commands, the feeds flow, the pull API, the demo, later the staff
and resident pages) call its methods, and it calls the use cases with the App's store, clock and
the real adapters: the letters for appointment mail, the guides' Outlook calendars through
Graph, the webhook sender, VERA's write API or an export folder for the ERP. It lives in its own
module so that the work on the rest of the root could go on in parallel; it is part of the root
all the same (it may import adapters; nothing but entry points imports it).

Seams left for the integrator:

- **consent go / no-go**: :class:`Planning` takes ``tally_for`` (a project's consent tally on a
  day). ``App.planning`` passes :func:`consent_tally_for`: the consent use case's tally
  (usecases/consent.py) on the App's kept ledgers, for every project with a consent profile.
  A demolition or maintenance project has no consent track: its units go by definition. A
  renovation project without a consent profile has no tally: its units stay no-go (the careful
  default), as do all of a project's units while its threshold is not met.
- **the pull API**: the web app includes ``keukentafel.feeds.api.router(app)``.
- **the staff page**: booking calls the same methods the CLI calls (``book_visit``,
  ``book_session``, ``plan_work_days``, ``move``, ``cancel``, ``complete``).
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from keukentafel.config import ConfigError, CorporationFile
from keukentafel.config.feeds import ContractorConfig, FeedsConfig
from keukentafel.domain.model import Project
from keukentafel.domain.planning.appointments import (
    Appointment,
    AppointmentStatus,
    PlanningSession,
    Slot,
    hours_of,
)
from keukentafel.domain.planning.inbound import InboundMessage, parse_csv, parse_message
from keukentafel.domain.planning.slots import WorkingHours

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from keukentafel.bootstrap import App, Clock
    from keukentafel.config.letters import LettersConfig
    from keukentafel.domain.consent import ProjectTally
    from keukentafel.domain.mailing import MailingPlan, WrittenMailing
    from keukentafel.domain.messages import Event
    from keukentafel.usecases.appointments import (
        Booking,
        CalendarReport,
        GuideCalendar,
        NotifyReport,
    )
    from keukentafel.usecases.contractor_inbox import InboundReport
    from keukentafel.usecases.erp_writes import ErpReport, ErpWriter
    from keukentafel.usecases.feeds import (
        ChangesPage,
        ConsentGate,
        ContractorFeed,
        DeliveryReport,
        FeedCounts,
        RefreshReport,
        TallyFor,
    )
    from keukentafel.usecases.mailing import MailingWriter


@dataclass(frozen=True, slots=True)
class ContractorRef:
    """Who is calling the pull API: a contractor of a corporation."""

    corporation: str
    contractor: str


class Planning:
    """Appointments and contractor feeds of one corporation, on the App's store and clock."""

    def __init__(
        self, app: App, corporation: CorporationFile, *, tally_for: TallyFor | None = None
    ) -> None:
        self.app = app
        self.corp = corporation
        self.code = corporation.code
        self.feeds: FeedsConfig = corporation.feeds or FeedsConfig()
        self._tally_for = tally_for

    # -- configuration

    @property
    def erp(self) -> bool:
        """Whether appointment versions and contact moments go back to the ERP."""
        return self.feeds.erp.mode != "off"

    def projects(self) -> dict[str, Project]:
        return {p.code: p for p in self.corp.domain_projects()}

    def project(self, code: str) -> Project:
        return self.corp.project(code)

    def contractor(self, code: str) -> ContractorConfig:
        try:
            return self.feeds.contractor(code)
        except KeyError as exc:
            raise ConfigError(f"{self.code}: {exc.args[0]}") from None

    def contractor_feed(self, code: str) -> ContractorFeed:
        from keukentafel.usecases.feeds import ContractorFeed

        contractor = self.contractor(code)
        return ContractorFeed(
            code=contractor.code,
            projects=tuple(self.project(p) for p in contractor.projects),
            batch_size=contractor.batch_size,
            webhooks=contractor.webhook is not None,
        )

    def hours(self, contractor: str) -> tuple[time, time]:
        return hours_of(self.contractor(contractor).work_hours)

    def gate(self) -> ConsentGate:
        from keukentafel.usecases.feeds import TallyGate, no_tally

        return TallyGate(self._tally_for or no_tally)

    def today(self) -> date:
        return self.app.today()

    def booking(self, by: str) -> Booking:
        from keukentafel.usecases.appointments import Booking

        return Booking(by, self.erp, self.app.clock)

    # -- adapters

    def writer_for(self, appointment: Appointment) -> MailingWriter:
        """Letters of one appointment version in a folder of their own (the mailing's folder
        name has only project, kind and date, which many appointments share)."""
        from keukentafel.letters.output import LettersMailingWriter

        letters = self.app.letters(self.corp)
        folder = (
            self.app.settings.output_dir
            / "afspraken"
            / f"{appointment.code}-v{appointment.version}"
        )
        writer = LettersMailingWriter(letters, folder, self.app.link_secret(letters), workers=1)
        if appointment.status is AppointmentStatus.CANCELLED:
            return CancellationWriter(
                writer, appointment, letters, self.app.sessions, self.app.clock
            )
        return writer

    @contextmanager
    def guide_calendar(self) -> Iterator[GuideCalendar | None]:
        """The guides' Outlook calendars (None without an ``m365`` section)."""
        if self.corp.m365 is None:
            yield None
            return
        from connectors.m365.calendar import GraphGuideCalendar

        graph = self.app.graph(self.corp)
        try:
            yield GraphGuideCalendar(graph.client)
        finally:
            graph.close()

    @contextmanager
    def erp_writer(self) -> Iterator[ErpWriter | None]:
        mode = self.feeds.erp.mode
        if mode == "off":
            yield None
            return
        if mode == "export":
            from keukentafel.feeds.erp_export import ErpExportWriter

            yield ErpExportWriter(
                self.app.settings.output_dir / "erp", self.code, clock=self.app.clock
            )
            return
        from connectors.erp.vera.writes import VeraWriter

        config = self.feeds.erp.vera or self.corp.source.vera
        assert config is not None  # checked when the file was loaded
        writer = VeraWriter(config, env=self.app.settings.environ)
        try:
            yield writer
        finally:
            writer.close()

    # -- sessions and appointments (the CLI and the staff page)

    def create_session(self, planned: PlanningSession) -> PlanningSession:
        from keukentafel.usecases.appointments import create_session

        project = self.project(planned.project_code)
        return create_session(self.app.sessions, project, planned, clock=self.app.clock)

    def book_visit(
        self, project: str, unit: str, guide: str, slot: Slot | None, *, by: str
    ) -> Appointment:
        from keukentafel.usecases.appointments import book_home_visit

        return book_home_visit(
            self.app.sessions, self.project(project), unit, guide, slot, self.booking(by)
        )

    def book_session(self, project: str, unit: str, session_code: str, *, by: str) -> Appointment:
        from keukentafel.usecases.appointments import book_session_place

        return book_session_place(
            self.app.sessions, self.project(project), unit, session_code, self.booking(by)
        )

    def plan_work_days(
        self,
        project: str,
        contractor: str,
        unit: str,
        element: str,
        first: date,
        last: date,
        *,
        team: str = "",
        by: str,
    ) -> Appointment:
        from keukentafel.usecases.appointments import plan_work_days

        days = Slot.days(first, last, self.hours(contractor))
        return plan_work_days(
            self.app.sessions,
            self.project(project),
            contractor,
            unit,
            element,
            days,
            self.booking(by),
            team=team,
        )

    def move(
        self, project: str, code: str, *, slot: Slot | None = None, session_code: str = "", by: str
    ) -> Appointment:
        from keukentafel.usecases.appointments import move_appointment

        return move_appointment(
            self.app.sessions,
            self.project(project),
            code,
            self.booking(by),
            slot=slot,
            session_code=session_code,
        )

    def cancel(self, project: str, code: str, *, by: str) -> Appointment:
        from keukentafel.usecases.appointments import cancel_appointment

        return cancel_appointment(self.app.sessions, self.project(project), code, self.booking(by))

    def complete(self, project: str, code: str, *, by: str) -> Appointment:
        from keukentafel.usecases.appointments import complete_appointment

        return complete_appointment(
            self.app.sessions, self.project(project), code, self.booking(by)
        )

    def free_slots(self, guide: str, first: date, last: date, *, minutes: int = 60) -> list[Slot]:
        from keukentafel.usecases.appointments import guide_free_slots

        with self.guide_calendar() as calendar:
            if calendar is None:
                raise ConfigError(f"{self.code}: free slots need the 'm365' section (calendars)")
            return guide_free_slots(
                self.app.sessions,
                calendar,
                self.code,
                guide,
                first,
                last,
                length=timedelta(minutes=minutes),
                hours=WorkingHours(),
                now=self.app.clock(),
            )

    def appointments(self, unit: str) -> list[Appointment]:
        from keukentafel.usecases.appointments import appointments_of_unit

        return appointments_of_unit(self.app.sessions, self.code, unit)

    # -- what follows a change

    def notify(self) -> NotifyReport:
        from keukentafel.usecases.appointments import notify_households

        return notify_households(
            self.app.sessions,
            self.code,
            self.projects(),
            self.writer_for,
            erp=self.erp,
            clock=self.app.clock,
        )

    def sync_calendars(self) -> CalendarReport | None:
        from keukentafel.usecases.appointments import sync_guide_calendars

        with self.guide_calendar() as calendar:
            if calendar is None:
                return None
            return sync_guide_calendars(
                self.app.sessions, self.code, calendar, clock=self.app.clock
            )

    # -- feeds

    def refresh(self, contractor: str | None = None) -> list[RefreshReport]:
        from keukentafel.usecases.feeds import refresh_feed

        codes = [contractor] if contractor else [c.code for c in self.feeds.contractors]
        return [
            refresh_feed(
                self.app.sessions,
                self.code,
                self.contractor_feed(code),
                self.gate(),
                on=self.today(),
                clock=self.app.clock,
            )
            for code in codes
        ]

    def deliver(self) -> DeliveryReport:
        from keukentafel.feeds.sender import WebhookSender
        from keukentafel.usecases.feeds import deliver_webhooks

        with_hooks = [c for c in self.feeds.contractors if c.webhook is not None]
        sender = WebhookSender(with_hooks, self.app.settings.environ)
        try:
            return deliver_webhooks(
                self.app.sessions,
                self.code,
                [c.code for c in with_hooks],
                sender,
                clock=self.app.clock,
            )
        finally:
            sender.close()

    def enable_webhooks(self, contractor: str) -> None:
        from keukentafel.usecases.feeds import enable_endpoint

        enable_endpoint(self.app.sessions, self.code, self.contractor(contractor).code)

    def write_back(self) -> ErpReport | None:
        from keukentafel.usecases.erp_writes import deliver_erp_writes

        with self.erp_writer() as writer:
            if writer is None:
                return None
            return deliver_erp_writes(self.app.sessions, self.code, writer, clock=self.app.clock)

    def counts(self) -> list[FeedCounts]:
        from keukentafel.usecases.feeds import feed_counts

        return [feed_counts(self.app.sessions, self.code, c.code) for c in self.feeds.contractors]

    def changes(self, contractor: str, cursor: str | None, limit: int = 100) -> ChangesPage:
        from keukentafel.usecases.feeds import changes_page

        return changes_page(self.app.sessions, self.code, contractor, cursor, limit)

    def export(self, contractor: str, kind: str) -> bytes:
        from keukentafel.feeds.exports import to_csv, to_xlsx
        from keukentafel.usecases.feeds import current_records

        records = current_records(self.app.sessions, self.code, self.contractor(contractor).code)
        return to_xlsx(records, title=contractor) if kind == "xlsx" else to_csv(records)

    def calendar(self, contractor: str, team: str = "") -> bytes:
        from keukentafel.feeds.calendar import to_ics
        from keukentafel.usecases.feeds import current_records

        records = current_records(self.app.sessions, self.code, self.contractor(contractor).code)
        return to_ics(records, contractor, team=team)

    # -- from the contractor

    def inbound_keys(self, contractor: str) -> list[bytes]:
        from keukentafel.feeds.sender import contractor_keys

        config = self.contractor(contractor)
        where = f"feeds.contractors[{contractor}].inbound_secret_envs"
        return contractor_keys(list(config.inbound_secret_envs), self.app.settings.environ, where)

    def receive(
        self, contractor: str, message_id: str, body: bytes, message: InboundMessage
    ) -> InboundReport:
        from keukentafel.usecases.contractor_inbox import apply_contractor_message

        return apply_contractor_message(
            self.app.sessions,
            self.code,
            self.contractor(contractor).code,
            message_id,
            body,
            message,
            hours=self.hours(contractor),
            erp=self.erp,
            clock=self.app.clock,
        )

    def receive_json(self, contractor: str, message_id: str, body: bytes) -> InboundReport:
        import json

        return self.receive(contractor, message_id, body, parse_message(json.loads(body)))

    def import_file(self, contractor: str, path: Path) -> InboundReport:
        from keukentafel.usecases.contractor_inbox import file_message_id

        data = path.read_bytes()
        return self.receive(contractor, file_message_id(data), data, parse_csv(data))

    def follow_up(self) -> tuple[NotifyReport, CalendarReport | None]:
        """Letters and guides' calendars for every change not yet followed up."""
        return self.notify(), self.sync_calendars()


# --- go / no-go from the consent ledger ------------------------------------------------------------


def consent_tally_for(app: App, corporation: CorporationFile) -> TallyFor:
    """A project's consent tally on a day from the live ledger (None without a consent profile:
    no tally, so a renovation stays no-go, and a project without a consent track goes)."""
    from keukentafel.usecases.consent import ConsentProject, consent_tally

    profiles = {project.code: profile for project, profile in corporation.consent_projects()}

    def tally_for(project: Project, on: date) -> ProjectTally | None:
        profile = profiles.get(project.code)
        if profile is None:
            return None
        target = ConsentProject(project, profile)
        return consent_tally(app.sessions, target, on, books=app.consent_books())

    return tally_for


# --- the cancelled invitation ------------------------------------------------------------------


@dataclass
class CancellationWriter:
    """The letters' writer for a cancelled appointment, plus the household's invitation
    cancelled: METHOD:CANCEL with the same UID and the next SEQUENCE, attached to the e-mail and
    put in the mailing's agenda folder (the letters write only REQUEST invitations)."""

    inner: MailingWriter
    appointment: Appointment
    letters: LettersConfig
    sessions: sessionmaker[Session]
    clock: Clock

    def write(
        self,
        plan: MailingPlan,
        *,
        mailing_key: str,
        event: Event | None,
        sequences: Mapping[str, int],
    ) -> WrittenMailing:
        from dataclasses import replace

        from keukentafel.domain.invitations import event_uid
        from keukentafel.letters.compose import safe_filename
        from keukentafel.store.repositories import InvitationRepository

        written = self.inner.write(plan, mailing_key=mailing_key, event=event, sequences=sequences)
        told = self.appointment.told_slot
        if event is not None or told is None or not plan.recipients:
            return written
        unit = plan.recipients[0].unit.code
        uid = event_uid(plan.project.code, f"afspraak-{self.appointment.code}", unit)
        mark = f"cancelled-{self.appointment.code}"[:32]  # the same cancellation keeps its number
        corporation = plan.project.corporation_code
        with self.sessions() as session:
            stored = InvitationRepository(session, corporation).stored([uid]).get(uid)
        sequence = stored[0] if stored and stored[1] == mark else (stored[0] + 1 if stored else 1)
        ics = self._ics(plan, told, uid, sequence)
        messages = tuple(replace(m, body=_with_cancel(m.body, ics)) for m in written.messages)
        for message in messages:  # the archived e-mail is the one that goes out
            for path in (written.out_dir / "email").glob(f"*-{safe_filename(unit)}.eml"):
                path.write_bytes(message.body)
        agenda = written.out_dir / "agenda"
        agenda.mkdir(parents=True, exist_ok=True)
        (agenda / f"{safe_filename(unit)}-afzegging.ics").write_bytes(ics)
        with self.sessions.begin() as session:
            InvitationRepository(session, corporation).save(
                {uid: (unit, sequence, mark)}, self.clock()
            )
        return replace(written, messages=messages, invitations=written.invitations + 1)

    def _ics(self, plan: MailingPlan, told: Slot, uid: str, sequence: int) -> bytes:
        from keukentafel.domain.messages import Event
        from keukentafel.letters.compose import email_recipients
        from keukentafel.letters.ics import Party, build_ics

        a = self.appointment
        found, _unusable = email_recipients(plan.recipients[0])
        recipient = (found[0].name, found[0].address) if found else None
        return build_ics(
            Event(
                f"afspraak-{a.code}",
                a.title,
                told.start,
                told.end,
                a.location_name,
                a.location_address,
            ),
            uid=uid,
            sequence=sequence,
            method="CANCEL",
            organiser=Party(self.letters.contact.name, self.letters.from_address),
            attendee=Party(*recipient) if recipient else None,
            now=self.clock().replace(tzinfo=UTC),
        )


def _with_cancel(body: bytes, ics: bytes) -> bytes:
    """The e-mail with the cancelled invitation attached (its own message id kept)."""
    from email import message_from_bytes
    from email.message import EmailMessage
    from email.policy import default

    message = message_from_bytes(body, policy=default)
    assert isinstance(message, EmailMessage)
    message.add_attachment(
        ics.decode("utf-8"),
        subtype="calendar",
        charset="utf-8",
        cte="quoted-printable",
        filename="afzegging.ics",
        params={"method": "CANCEL"},
    )
    return message.as_bytes()


# --- who calls the pull API ------------------------------------------------------------------


def contractor_for_token(app: App, token: str) -> ContractorRef | None:
    """The contractor whose pull token this is (compared in constant time), or None."""
    if not token:
        return None
    found = None
    for code in app.corporations.codes():
        feeds = app.corporations.get(code).feeds
        for contractor in feeds.contractors if feeds else []:
            name = contractor.pull_token_env
            expected = app.settings.environ.get(name, "") if name else ""
            if expected and hmac.compare_digest(expected.encode(), token.encode()):
                found = ContractorRef(code, contractor.code)
    return found


def calendar_key(app: App, ref: ContractorRef, team: str) -> str:
    """A key for a calendar URL (calendar apps send no headers): it opens this contractor's (or
    team's) calendar only, and changes when the pull token is rotated."""
    contractor = app.corporations.get(ref.corporation).feeds
    assert contractor is not None
    name = contractor.contractor(ref.contractor).pull_token_env
    secret = app.settings.environ.get(name, "") if name else ""
    if not secret:
        raise ConfigError(f"contractor {ref.contractor} has no pull_token_env")
    message = f"calendar\x1f{ref.corporation}\x1f{ref.contractor}\x1f{team}".encode()
    return hmac.new(secret.encode(), message, "sha256").hexdigest()[:40]
