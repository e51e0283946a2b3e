"""Flow: sync the resident register of one corporation from its source (VERA or a spreadsheet).

One task per step, never per row: the sync itself (fetch, validate, diff, apply in one
transaction) and the operator report. Retries live in the HTTP client, not here, so a failing ERP
is retried in one layer only. The report is a table artifact with counts per change kind and the
rows kept aside: unit codes and reasons, never names. The corporation is named by its code; the
process's App (keukentafel/bootstrap.py) knows its file and chooses its source.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from flows.results import SyncSummary
from keukentafel.bootstrap import current_app
from keukentafel.usecases.sync_register import ProgressFn, SyncFailed, SyncRefused


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


@task(name="sync-register-source")
def sync_source(corporation: str, show_progress: bool = False) -> SyncSummary:
    """Run the sync use case; return counts and kept-aside rows (unit codes and reasons only)."""
    logger = get_run_logger()
    progress, bar = _console_progress() if show_progress else (None, None)
    try:
        if bar is not None:
            bar.start()
        result = current_app().run_sync(corporation, progress=progress)
    except (SyncFailed, SyncRefused) as exc:
        create_markdown_artifact(
            key="register-sync-failed", markdown=f"**Register sync did not apply**\n\n{exc}"
        )
        raise
    finally:
        if bar is not None:
            bar.stop()
    logger.info(
        "sync run %s %s: %s rows written, %s kept aside",
        result.run_id,
        result.outcome,
        result.rows_written,
        len(result.rejected),
    )
    return SyncSummary.of(result)


@task(name="publish-sync-report")
def publish_report(summary: SyncSummary) -> None:
    rows: list[dict[str, Any]] = [
        {"what": kind, "count": count} for kind, count in summary.counts.items() if count
    ]
    rows.append({"what": "rows written", "count": summary.rows_written})
    rows.append({"what": "kept aside", "count": len(summary.kept_aside)})
    create_table_artifact(
        key="register-sync-counts", table=rows, description=f"Register sync run {summary.run_id}"
    )
    if summary.kept_aside:
        create_table_artifact(
            key="register-sync-kept-aside",
            table=summary.kept_aside_rows(),
            description="Rows kept aside (not applied, stored versions untouched)",
        )


@flow(name="sync-register", log_prints=False)
def sync_register_flow(corporation: str, show_progress: bool = False) -> SyncSummary:
    """Pull the register of one corporation (by its code) and apply what changed."""
    summary = sync_source(corporation, show_progress)
    publish_report(summary)
    return summary
