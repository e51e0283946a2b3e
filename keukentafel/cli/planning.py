"""The ``keukentafel planning`` commands: sessions, appointments, contractor feeds.

Staff book for a household here until the staff page does it (the same App methods:
keukentafel/bootstrap_planning.py). Every change prints the appointment by its code and unit
code; ``planning notify`` (and the ``contractor-feeds`` flow, every 15 minutes) writes the letters
and updates the guides' calendars. Times are Amsterdam time, ``2027-05-12T10:00``.
"""

from __future__ import annotations

import getpass
from contextlib import AbstractContextManager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from keukentafel.cli import present
from keukentafel.domain.planning.appointments import PlanningError, PlanningSession, Slot

if TYPE_CHECKING:
    from keukentafel.cli.app import _Command

planning_app = typer.Typer(help="Appointments with households and the contractors' feeds.")
book_app = typer.Typer(help="Book for a household: a home visit or a place in a session.")
feeds_app = typer.Typer(help="The contractors' feeds: refresh, deliver, status.")
planning_app.add_typer(book_app, name="book")
planning_app.add_typer(feeds_app, name="feeds")

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Corporation file (YAML); default: KEUKENTAFEL_CONFIG"),
]
ProjectOption = Annotated[str, typer.Option("--project", help="Project code")]
UnitOption = Annotated[str, typer.Option("--unit", help="Unit code (VHE)")]
ContractorOption = Annotated[str, typer.Option("--contractor", help="Contractor code")]
ERRORS = (PlanningError, ValueError, KeyError)


def _by() -> str:
    return f"cli:{getpass.getuser()}"


def _slot(start: str, minutes: int) -> Slot:
    begin = datetime.fromisoformat(start)
    return Slot(begin, begin + timedelta(minutes=minutes))


def _corporation(config: Path | None) -> AbstractContextManager[_Command]:
    """The App for the corporation file (keukentafel/cli/app.py); planning errors end the
    command with their message, like configuration errors."""
    from keukentafel.cli.app import _corporation as corporation
    from keukentafel.config import ConfigError

    return corporation(config, errors=(ConfigError, *ERRORS))


@planning_app.command("session")
def session_create(
    project: ProjectOption,
    code: Annotated[str, typer.Option(help="A code of your own for the session")],
    title: Annotated[str, typer.Option(help="As residents read it: 'Kijken in de modelwoning'")],
    start: Annotated[str, typer.Option(help="2027-05-12T14:00")],
    capacity: Annotated[int, typer.Option(help="Places")],
    location: Annotated[str, typer.Option(help="Where: 'Modelwoning'")],
    address: Annotated[str, typer.Option(help="Its address")] = "",
    minutes: int = 90,
    guide: Annotated[str, typer.Option(help="The guide who leads it (UPN)")] = "",
    config: ConfigOption = None,
) -> None:
    """Create a small-group session with a number of places."""
    with _corporation(config) as command:
        planned = PlanningSession(
            code, project, title, _slot(start, minutes), location, address, capacity, guide
        )
        command.app.planning(command.code).create_session(planned)
    present.console().print(f"Session {code}: {capacity} places")


@book_app.command("visit")
def book_visit(
    project: ProjectOption,
    unit: UnitOption,
    guide: Annotated[str, typer.Option(help="The resident guide (their Outlook UPN)")],
    start: Annotated[str | None, typer.Option(help="2027-05-12T10:00; none: requested")] = None,
    minutes: int = 60,
    config: ConfigOption = None,
) -> None:
    """A kitchen-table talk with a household: planned at --start, or requested."""
    with _corporation(config) as command:
        slot = _slot(start, minutes) if start else None
        booked = command.app.planning(command.code).book_visit(project, unit, guide, slot, by=_by())
    present.print_appointment(booked, "Booked")


@book_app.command("session")
def book_session(
    project: ProjectOption,
    unit: UnitOption,
    session: Annotated[str, typer.Option(help="The session's code")],
    config: ConfigOption = None,
) -> None:
    """A place for a household in a session (refused when it is full)."""
    with _corporation(config) as command:
        booked = command.app.planning(command.code).book_session(project, unit, session, by=_by())
    present.print_appointment(booked, "Booked")


@planning_app.command("work-days")
def work_days(
    project: ProjectOption,
    contractor: ContractorOption,
    unit: UnitOption,
    element: Annotated[str, typer.Option(help="What is worked on: keuken, badkamer")],
    first: Annotated[str, typer.Option("--from", help="First day, 2027-05-12")],
    last: Annotated[str, typer.Option("--to", help="Last day, 2027-05-14")],
    team: str = "",
    config: ConfigOption = None,
) -> None:
    """The contractor's days in a unit (again with other days: they move)."""
    with _corporation(config) as command:
        planned = command.app.planning(command.code).plan_work_days(
            project,
            contractor,
            unit,
            element,
            date.fromisoformat(first),
            date.fromisoformat(last),
            team=team,
            by=_by(),
        )
    present.print_appointment(planned, "Planned")


@planning_app.command("move")
def move(
    code: Annotated[str, typer.Argument(help="The appointment's code")],
    project: ProjectOption,
    start: Annotated[str | None, typer.Option(help="New start, 2027-05-12T14:00")] = None,
    minutes: int = 60,
    session: Annotated[str, typer.Option(help="For a session place: the new session")] = "",
    config: ConfigOption = None,
) -> None:
    """Move an appointment (or plan a requested one)."""
    with _corporation(config) as command:
        moved = command.app.planning(command.code).move(
            project,
            code,
            slot=_slot(start, minutes) if start else None,
            session_code=session,
            by=_by(),
        )
    present.print_appointment(moved, "Moved")


@planning_app.command("cancel")
def cancel(code: str, project: ProjectOption, config: ConfigOption = None) -> None:
    """Cancel an appointment (a session place is given back)."""
    with _corporation(config) as command:
        cancelled = command.app.planning(command.code).cancel(project, code, by=_by())
    present.print_appointment(cancelled, "Cancelled")


@planning_app.command("done")
def done(code: str, project: ProjectOption, config: ConfigOption = None) -> None:
    """The appointment took place."""
    with _corporation(config) as command:
        finished = command.app.planning(command.code).complete(project, code, by=_by())
    present.print_appointment(finished, "Done")


@planning_app.command("slots")
def slots(
    guide: Annotated[str, typer.Option(help="The resident guide (UPN)")],
    first: Annotated[str, typer.Option("--from", help="2027-05-10")],
    last: Annotated[str, typer.Option("--to", help="2027-05-14")],
    minutes: int = 60,
    config: ConfigOption = None,
) -> None:
    """Free slots in a guide's Outlook calendar (free/busy through Graph)."""
    with _corporation(config) as command:
        found = command.app.planning(command.code).free_slots(
            guide, date.fromisoformat(first), date.fromisoformat(last), minutes=minutes
        )
    present.print_slots(found)


@planning_app.command("notify")
def notify(config: ConfigOption = None) -> None:
    """Write the letters of every appointment change and update the guides' calendars."""
    with _corporation(config) as command:
        letters, calendars = command.app.planning(command.code).follow_up()
    present.console().print(
        f"{letters.letters} letter(s), {letters.enqueued} e-mail(s) queued; "
        f"{calendars.created_or_updated if calendars else 0} calendar event(s)"
    )
    for unit, reason in letters.refused:
        present.console().print(f"[yellow]{unit}: {reason}[/yellow]", highlight=False)


@planning_app.command("import")
def import_file(
    path: Annotated[Path, typer.Argument(help="The contractor's CSV of changes")],
    contractor: ContractorOption,
    config: ConfigOption = None,
) -> None:
    """Apply a contractor's file of changed work days, delays or completions (once per file)."""
    from keukentafel.domain.planning.inbound import MessageRefused

    with _corporation(config) as command:
        try:
            report = command.app.planning(command.code).import_file(contractor, path)
        except MessageRefused as exc:
            present.print_error(f"{path}: {exc}")
            raise typer.Exit(2) from None
    present.print_inbound(report)


@planning_app.command("export")
def export(
    contractor: ContractorOption,
    out: Annotated[Path, typer.Option(help="File to write (.csv or .xlsx)")],
    config: ConfigOption = None,
) -> None:
    """The contractor's current planning as CSV or XLSX (formula-injection safe)."""
    kind = "xlsx" if out.suffix.lower() == ".xlsx" else "csv"
    with _corporation(config) as command:
        data = command.app.planning(command.code).export(contractor, kind)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    present.console().print(f"{out}: {len(data)} bytes")


@planning_app.command("calendar-url")
def calendar_url(
    contractor: ContractorOption,
    base: Annotated[str, typer.Option(help="Where the web app answers: https://host")],
    team: str = "",
    config: ConfigOption = None,
) -> None:
    """The address of a contractor's (or team's) calendar, for a calendar app to subscribe to."""
    from keukentafel.bootstrap_planning import ContractorRef, calendar_key

    with _corporation(config) as command:
        key = calendar_key(command.app, ContractorRef(command.code, contractor), team)
    query = f"?key={key}" + (f"&team={team}" if team else "")
    present.console().print(
        f"{base.rstrip('/')}/contractor/v1/calendar/{command.code}/{contractor}.ics{query}"
    )


@feeds_app.command("run")
def feeds_run(config: ConfigOption = None) -> None:
    """Follow up appointments, refresh and deliver every feed, write back (the contractor-feeds
    flow on Prefect when PREFECT_API_URL is set)."""
    with _corporation(config) as command:
        outcome = command.launch("feeds")
        if outcome.value is not None:
            present.print_feeds(outcome.value)
        command.finish(outcome)


@feeds_app.command("enable")
def feeds_enable(contractor: ContractorOption, config: ConfigOption = None) -> None:
    """Send webhooks again to an endpoint that answered 410 Gone (after the contractor says so)."""
    with _corporation(config) as command:
        command.app.planning(command.code).enable_webhooks(contractor)
    present.console().print(f"Webhooks to {contractor} enabled again")


@feeds_app.command("status")
def feeds_status(config: ConfigOption = None) -> None:
    """Records, sequences, webhooks and appointments per contractor (counts only)."""
    from flows.results import FeedsSummary

    with _corporation(config) as command:
        counts = command.app.planning(command.code).counts()
    present.print_feeds(
        FeedsSummary(
            contractors=[
                {
                    "contractor": c.contractor,
                    "records": c.records,
                    "last sequence": c.last_sequence,
                    **{f"webhooks {k}": v for k, v in c.webhooks.items()},
                    **{f"appointments {k}": v for k, v in c.appointments.items()},
                    "endpoint disabled": int(c.disabled),
                }
                for c in counts
            ]
        )
    )
