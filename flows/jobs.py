"""The work of every flow as plain functions: no Prefect, no server.

A job takes the App and a corporation code, does the work through the App, and returns an
:class:`Outcome`: the value the command line prints (flows/results.py), the report as data
(:class:`Artifact`: tables and text with counts, unit codes and reasons, never names) and how
the run ended, in operator language:

- ``Completed``: nothing for anyone to do;
- ``Failed``: something needs a person: messages refused by the mail service, rows kept aside,
  or the source down (an outage: ``error`` holds its exception, which a flow raises again);
- ``Refused``: the sync would have been unsafe (the shrink guard, another sync running) and
  changed nothing.

The Prefect flows (flows/sync_register.py, ...) call these jobs and publish the report as
artifacts (flows/publish.py); flows/launch.py runs either the flow (a Prefect server is
configured) or the job alone, and the command line prints the same outcome both ways.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from flows.naming import artifact_key
from flows.results import (
    ConsentTallies,
    Delivery,
    FeedsSummary,
    MailingOutcome,
    SyncSummary,
    TeamPullSummary,
)

if TYPE_CHECKING:
    from keukentafel.bootstrap import App
    from keukentafel.usecases.mailing import MailingResult
    from keukentafel.usecases.privacy import PurgeReport
    from keukentafel.usecases.replies import RepliesReport
    from keukentafel.usecases.sync_register import ProgressFn

T = TypeVar("T")

COMPLETED, FAILED, REFUSED = "Completed", "Failed", "Refused"


@dataclass(frozen=True, slots=True)
class Artifact:
    """One part of a run's report: a table (rows of plain values) or a markdown text."""

    key: str
    description: str
    table: list[dict[str, Any]] | None = None
    markdown: str | None = None


@dataclass(slots=True)
class Outcome(Generic[T]):
    """How a run ended, what it returns, and its report (see the module's docstring)."""

    kind: str
    corporation: str
    value: T | None = None
    state: str = COMPLETED
    message: str = ""  # one line for the operator; the cause when it did not complete
    artifacts: list[Artifact] = field(default_factory=list)
    error: BaseException | None = None  # an outage: the flow raises it (a plain Failed run)
    where: str = ""  # where to look: the flow run's page, or a command

    @property
    def ok(self) -> bool:
        return self.state == COMPLETED


class RunFailed(Exception):
    """A run that ended ``Failed`` or ``Refused`` for a reason in the data, not a crash: what a
    flow called as a function raises, with the whole outcome (its value included)."""

    def __init__(self, outcome: Outcome[Any]) -> None:
        super().__init__(outcome.message)
        self.outcome = outcome


# --- the register sync ---------------------------------------------------------------------------


def _console_progress() -> tuple[ProgressFn, Any]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("{task.description:<16}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
    )
    tasks: dict[str, Any] = {}

    def update(endpoint: str, done: int, total: int | None) -> None:
        if endpoint not in tasks:
            tasks[endpoint] = bar.add_task(endpoint, total=total)
        bar.update(tasks[endpoint], completed=done, total=total)

    return update, bar


def _reasons(rows: list[dict[str, Any]]) -> str:
    counted: dict[str, int] = {}
    for row in rows:
        counted[row["reason"]] = counted.get(row["reason"], 0) + 1
    return ", ".join(f"{reason} {n}" for reason, n in sorted(counted.items()))


def sync(
    app: App, corporation: str, *, show_progress: bool = False, max_shrink: float | None = None
) -> Outcome[SyncSummary]:
    """The register sync. Rows kept aside make it ``Failed`` (applied, but someone must look);
    the shrink guard or a running sync ``Refused``; a source that cannot deliver an outage."""
    from keukentafel.usecases.sync_register import SyncFailed, SyncRefused

    outcome: Outcome[SyncSummary] = Outcome("sync", corporation)
    where = f"keukentafel register --kept-aside --config <the file of {corporation}>"
    progress, bar = _console_progress() if show_progress else (None, None)
    try:
        if bar is not None:
            bar.start()
        result = app.run_sync(corporation, progress=progress, max_shrink=max_shrink)
    except SyncRefused as exc:
        outcome.state, outcome.message, outcome.where = REFUSED, f"sync refused: {exc}", where
        outcome.artifacts = _sync_problem(app, corporation, "Register sync refused", exc)
        return outcome
    except SyncFailed as exc:  # the source could not deliver: check it can be reached
        outcome.state, outcome.message, outcome.error = FAILED, f"sync failed: {exc}", exc
        outcome.where = f"keukentafel doctor --config <the file of {corporation}>"
        outcome.artifacts = _sync_problem(app, corporation, "Register sync failed", exc)
        return outcome
    finally:
        if bar is not None:
            bar.stop()
    summary = outcome.value = SyncSummary.of(result)
    outcome.artifacts = _sync_report(corporation, summary)
    if summary.kept_aside:
        outcome.state, outcome.where = FAILED, where
        outcome.message = (
            f"sync applied ({summary.rows_written} rows written) but kept "
            f"{len(summary.kept_aside)} row(s) aside: "
            f"{_reasons(summary.kept_aside_rows())}; fix them in the ERP"
        )
    return outcome


def _sync_problem(app: App, corporation: str, title: str, exc: Exception) -> list[Artifact]:
    """Why the sync did not apply, and the rows it kept aside (from the store: the run record)."""
    found = [
        Artifact(
            artifact_key("sync", corporation, "problem"),
            f"{title}: the register was left as it was",
            markdown=f"**{title}**\n\n{exc}",
        )
    ]
    _, kept_aside, _ = app.last_sync_report(corporation)  # not the whole register's summary
    if kept_aside:
        found.append(
            Artifact(
                artifact_key("sync", corporation, "kept-aside"),
                "Rows kept aside by the last sync (unit codes and reasons)",
                table=[
                    {"entity": r.entity, "unit_code": r.unit_code, "reason": r.reason}
                    for r in kept_aside
                ],
            )
        )
    return found


def _sync_report(corporation: str, summary: SyncSummary) -> list[Artifact]:
    rows: list[dict[str, Any]] = [
        {"what": kind, "count": count} for kind, count in summary.counts.items() if count
    ]
    rows.append({"what": "rows written", "count": summary.rows_written})
    rows.append({"what": "kept aside", "count": len(summary.kept_aside)})
    found = [
        Artifact(
            artifact_key("sync", corporation, "counts"),
            f"Register sync run {summary.run_id} of {corporation}",
            table=rows,
        )
    ]
    if summary.kept_aside:
        found.append(
            Artifact(
                artifact_key("sync", corporation, "kept-aside"),
                "Rows kept aside (not applied, stored versions untouched)",
                table=summary.kept_aside_rows(),
            )
        )
    return found


# --- the team's contact lists ----------------------------------------------------------------------


def team(app: App, corporation: str, *, on: date | None = None) -> Outcome[TeamPullSummary]:
    """The team-list pull. Rows that fit no household make it ``Failed``; a conflict with the
    ERP is reported (the ERP's value is kept) but is no failure."""
    summary = TeamPullSummary.of(app.pull_team_contacts(corporation, on or app.today()))
    outcome: Outcome[TeamPullSummary] = Outcome("team", corporation, summary)
    rows = [
        {"source": source, "what": what, "count": count}
        for source, counts in summary.counts.items()
        for what, count in counts.items()
    ]
    outcome.artifacts.append(
        Artifact(artifact_key("team", corporation, "counts"), "Team contact list pull", table=rows)
    )
    if summary.findings:
        outcome.artifacts.append(
            Artifact(
                artifact_key("team", corporation, "findings"),
                "Conflicts (the ERP value is kept) and rows that fit no household",
                table=[asdict(f) for f in summary.findings],
            )
        )
    refused = [f for f in summary.findings if f.reason != "conflict"]
    if refused:
        outcome.state = FAILED
        outcome.message = (
            f"team list pull kept {len(refused)} row(s) aside: "
            f"{_reasons([asdict(f) for f in refused])}; fix them in the team's list"
        )
    return outcome


# --- mailings and the outbox -----------------------------------------------------------------------


def _delivery_failure(delivered: Delivery) -> str:
    """The cause, when the mail service refused messages in this run ("" when none)."""
    if not delivered.refused:
        return ""
    reasons = "; ".join(f"{reason} ({n}x)" for reason, n in delivered.refusal_reasons.items())
    failed = (
        f", {delivered.failed} of them failed for good (`keukentafel mailing retry` after the "
        "cause is fixed)"
        if delivered.failed
        else ", they are tried again by later runs"
    )
    return f"the mail service refused {delivered.refused} e-mail(s){failed}: {reasons}"


def _delivery_rows(delivered: Delivery) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = [
        {"what": f"outbox {status}", "value": count} for status, count in delivered.outbox.items()
    ]
    if delivered.dispatched:
        for key in ("sent", "reconciled", "retried_later", "refused", "failed"):
            rows.append({"what": key.replace("_", " "), "value": getattr(delivered, key)})
    return rows


def _refusals(corporation: str, delivered: Delivery, *what: str) -> list[Artifact]:
    if not delivered.refused:
        return []
    rows: list[dict[str, Any]] = [
        {"unit_code": u, "state": "failed"} for u in delivered.failed_units
    ]
    rows += [
        {"unit_code": "", "state": f"refused {n}x: {r}"}
        for r, n in delivered.refusal_reasons.items()
    ]
    return [
        Artifact(
            artifact_key(*what, "refused")
            if what
            else artifact_key("dispatch", corporation, "refused"),
            "E-mails the mail service refused: unit codes and the service's answer",
            table=rows,
        )
    ]


def deliver(app: App, corporation: str, mailing_key: str | None = None) -> Delivery:
    report = app.dispatch(corporation, mailing_key)
    return Delivery.of(report, app.outbox_counts(corporation, mailing_key))


def dispatch(app: App, corporation: str) -> Outcome[Delivery]:
    """One pass of the outbox dispatcher. Its report is published only when it did something
    (under its own key: a mailing's report is never overwritten); refusals make it ``Failed``."""
    delivered = deliver(app, corporation)
    outcome: Outcome[Delivery] = Outcome("dispatch", corporation, delivered)
    did = delivered.sent + delivered.reconciled + delivered.refused + delivered.waiting
    if did:
        outcome.artifacts.append(
            Artifact(
                artifact_key("dispatch", corporation),
                f"Outbox dispatch of {corporation}",
                table=_delivery_rows(delivered),
            )
        )
        outcome.artifacts += _refusals(corporation, delivered)
    cause = _delivery_failure(delivered)
    if cause:
        outcome.state, outcome.message = FAILED, cause
        outcome.where = f"keukentafel mailing retry --config <the file of {corporation}>"
    return outcome


def mailing_report(
    corporation: str, prepared: MailingResult, delivered: Delivery
) -> Outcome[MailingOutcome]:
    """The outcome of a mailing from its two steps (the flow runs them as tasks)."""
    key = prepared.mailing_key.split("/")
    what = ("mailing", corporation, *key[1:])  # project, kind, mailing id
    outcome: Outcome[MailingOutcome] = Outcome(
        "mailing", corporation, MailingOutcome(prepared, delivered)
    )
    rows: list[dict[str, Any]] = [
        {"what": k.replace("_", " "), "value": v}
        for k, v in prepared.as_dict().items()
        if isinstance(v, int | str) and k not in ("out_dir", "print_pdf")
    ]
    outcome.artifacts.append(
        Artifact(
            artifact_key(*what),
            f"Mailing {prepared.mailing_key}",
            table=rows + _delivery_rows(delivered),
        )
    )
    if prepared.skipped:
        outcome.artifacts.append(
            Artifact(
                artifact_key(*what, "skipped"),
                "Households without an e-mail or letter, and why",
                table=[{"unit_code": s.unit_code, "reason": s.text} for s in prepared.skipped],
            )
        )
    outcome.artifacts += _refusals(corporation, delivered, *what)
    cause = _delivery_failure(delivered)
    if cause:
        outcome.state, outcome.message = FAILED, f"mailing {prepared.mailing_key}: {cause}"
        outcome.where = (
            f"keukentafel mailing retry --mailing {key[-1]} --config <the file of {corporation}>"
        )
    return outcome


def mailing(
    app: App,
    corporation: str,
    project_code: str,
    kind: str,
    *,
    on: date | None = None,
    content_path: str | None = None,
    sample: bool = False,
    started_by: str,
) -> Outcome[MailingOutcome]:
    """Compose, print and enqueue a mailing, then deliver its e-mails."""
    from keukentafel.bootstrap import mailing_content

    day = on or app.today()
    content = mailing_content(kind, day, content_path, sample=sample)
    prepared = app.prepare_mailing(
        corporation, project_code, kind, on=day, content=content, started_by=started_by
    )
    return mailing_report(corporation, prepared, deliver(app, corporation, prepared.mailing_key))


# --- privacy, consent, contractor feeds ------------------------------------------------------------


def purge(
    app: App, corporation: str, *, on: date | None = None, started_by: str
) -> Outcome[PurgeReport]:
    """The retention purge: what it removed, counts per kind and unit codes."""
    report = app.purge_personal_data(corporation, on=on or app.today(), actor=started_by)
    outcome: Outcome[PurgeReport] = Outcome("purge", corporation, report)
    outcome.artifacts.append(
        Artifact(
            artifact_key("purge", corporation, "counts"),
            f"Purge of {corporation} on {report.on}: personal data removed per kind; projects "
            f"due: {', '.join(c for c, _ in report.due_projects) or 'none'}",
            table=[*report.count_rows(), {"what": "units", "removed": len(report.units)}],
        )
    )
    units = [{"unit": code, "state": "purged"} for code in report.units]
    units += [{"unit": code, "state": "kept: shared with a project"} for code in report.kept_units]
    if units:
        outcome.artifacts.append(
            Artifact(
                artifact_key("purge", corporation, "units"),
                "Units whose personal data this purge removed, and units it kept",
                table=units,
            )
        )
    return outcome


#: What a unit's row in the consent artifact shows: its code and dates, no lease or exclusion ids.
_UNIT_KEYS = ("unit", "tenure", "status", "notice_date", "last_day")


def consent(app: App, corporation: str, *, on: date | None = None) -> Outcome[ConsentTallies]:
    """The consent tally of every consent project at the end of the day (writes nothing)."""
    from keukentafel.domain.consent.tally import unit_as_dict

    result = ConsentTallies(corporation, on or app.today())
    for project, _profile in app.corporation(corporation).consent_projects():
        found = app.consent_tally(corporation, project.code, on=result.as_of)
        for ballot in found.ballots:
            result.ballots.append(
                {
                    "project": project.code,
                    "ballot": ballot.ballot,
                    "homes": ballot.homes,
                    "agreed": ballot.agreed,
                    "declined": ballot.declined,
                    "incomplete": ballot.incomplete,
                    "no answer": ballot.no_answer,
                    "excluded": found.excluded,
                    "owners": found.owners,
                    "vacant": found.vacant,
                    "denominator": ballot.denominator,
                    "percentage": str(ballot.percentage) if ballot.percentage else "",
                    "presumption": ballot.presumption_applies,
                    "since": str(ballot.presumption_since or ""),
                }
            )
        for unit in found.units:
            line = unit_as_dict(unit, people=False)
            result.units.append({"project": project.code, **{k: line[k] for k in _UNIT_KEYS}})
    outcome: Outcome[ConsentTallies] = Outcome("consent", corporation, result)
    outcome.artifacts = [
        Artifact(
            artifact_key("consent", corporation, "tally"),
            f"Consent tally at the end of {result.as_of} (counts per project and ballot)",
            table=result.ballots,
        ),
        Artifact(
            artifact_key("consent", corporation, "units"),
            f"Consent per unit at the end of {result.as_of} (unit codes, no names)",
            table=result.units,
        ),
    ]
    return outcome


def _follow_up(app: App, corporation: str) -> tuple[int, int, list[str]]:
    notified, calendars = app.planning(corporation).follow_up()
    problems = [f"{unit}: {reason}" for unit, reason in notified.refused]
    if calendars is not None:
        problems += [f"{unit}: calendar: {reason}" for unit, reason in calendars.failed]
    events = calendars.created_or_updated + calendars.removed if calendars else 0
    return notified.letters, events, problems


def _refresh(app: App, corporation: str) -> dict[str, dict[str, int]]:
    return {
        r.contractor: {
            "units": r.units,
            "appointments": r.appointments,
            "changed": r.changed,
            "removed": r.removed,
            "webhooks queued": r.webhooks_queued,
        }
        for r in app.planning(corporation).refresh()
    }


def _deliver_webhooks(app: App, corporation: str) -> dict[str, dict[str, int]]:
    report = app.planning(corporation).deliver()
    found: dict[str, dict[str, int]] = {}
    for name, counts in (
        ("delivered", report.delivered),
        ("retrying", report.retrying),
        ("failed", report.failed),
        ("waiting", report.waiting),
    ):
        for contractor, count in counts.items():
            found.setdefault(contractor, {})[name] = count
    for contractor in report.disabled:
        found.setdefault(contractor, {})["disabled (410)"] = 1
    return found


def _write_back(app: App, corporation: str) -> dict[str, Any]:
    report = app.planning(corporation).write_back()
    if report is None:
        return {}
    return {
        "target": report.target,
        "sent": report.sent,
        "reconciled": report.reconciled,
        "superseded": report.superseded,
        "retrying": report.retrying,
        "failed": len(report.failed),
    }


def feeds(app: App, corporation: str) -> Outcome[FeedsSummary]:
    """Appointments followed up, every contractor's feed refreshed and delivered, ERP writes.
    Letters or calendar events that could not be made, webhooks or ERP writes that failed for
    good make it ``Failed``."""
    letters, events, problems = _follow_up(app, corporation)
    refreshed = _refresh(app, corporation)
    delivered = _deliver_webhooks(app, corporation)
    erp = _write_back(app, corporation)
    summary = FeedsSummary(letters=letters, calendar_events=events, erp=erp, problems=problems)
    for contractor in sorted(set(refreshed) | set(delivered)):
        summary.contractors.append(
            {
                "contractor": contractor,
                **refreshed.get(contractor, {}),
                **delivered.get(contractor, {}),
            }
        )
    outcome: Outcome[FeedsSummary] = Outcome("feeds", corporation, summary)
    outcome.artifacts = _feeds_report(app, corporation, summary)
    webhooks_failed = sum(row.get("failed", 0) for row in summary.contractors)
    causes = [f"{len(problems)} follow-up problem(s)"] if problems else []
    causes += [f"{webhooks_failed} webhook(s) failed"] if webhooks_failed else []
    causes += [f"{erp['failed']} ERP write(s) failed"] if erp.get("failed") else []
    if causes:
        outcome.state = FAILED
        outcome.message = f"contractor feeds of {corporation}: {', '.join(causes)}"
        outcome.where = f"keukentafel planning feeds status --config <the file of {corporation}>"
    return outcome


def _feeds_report(app: App, corporation: str, summary: FeedsSummary) -> list[Artifact]:
    counts = {c.contractor: c for c in app.planning(corporation).counts()}
    rows = []
    for row in summary.contractors:
        total = counts.get(row["contractor"])
        if total is not None:
            row = {
                **row,
                "records": total.records,
                "last sequence": total.last_sequence,
                "webhooks pending": total.webhooks.get("pending", 0),
                "webhooks failed": total.webhooks.get("failed", 0),
                "endpoint disabled": total.disabled,
            }
        rows.append(row)
    found = [
        Artifact(
            artifact_key("feeds", corporation),
            "Contractor feeds: counts per contractor",
            table=rows,
        )
    ]
    if summary.erp:
        found.append(
            Artifact(
                artifact_key("feeds", corporation, "erp-writes"),
                "Contact moments and appointments written back to the ERP",
                table=[{"what": k, "value": v} for k, v in summary.erp.items()],
            )
        )
    if summary.problems:
        found.append(
            Artifact(
                artifact_key("feeds", corporation, "problems"),
                "Follow-up problems: unit codes and reasons",
                table=[{"problem": p} for p in summary.problems],
            )
        )
    return found


def replies(app: App, corporation: str) -> Outcome[RepliesReport]:
    """The shared mailbox's replies matched to households as open items (never consent). A
    reply that fits no household is an open item without a project, not a failure. The report
    (counts only) is published only when there were replies to read."""
    report = app.pull_replies(corporation)
    outcome: Outcome[RepliesReport] = Outcome("replies", corporation, report)
    if report.read:
        outcome.artifacts.append(
            Artifact(
                artifact_key("replies", corporation),
                "Replies read from the shared mailbox, matched, kept aside, new open items",
                table=[{"what": what, "count": count} for what, count in asdict(report).items()],
            )
        )
    return outcome


#: The job of each kind of run (flows/naming.py's kinds).
JOBS: dict[str, Callable[..., Outcome[Any]]] = {
    "sync": sync,
    "team": team,
    "dispatch": dispatch,
    "mailing": mailing,
    "purge": purge,
    "consent": consent,
    "feeds": feeds,
    "replies": replies,
}
