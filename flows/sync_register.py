"""Flow: sync the resident register of one corporation from its source (VERA or a spreadsheet).

One task per step, never per row: the sync itself (fetch, validate, diff, apply in one
transaction) and the operator report. Retries live in the HTTP client, not here, so a failing ERP
is retried in one layer only. The report is a table artifact with counts per change kind and the
rows kept aside: unit codes and reasons, never names.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from keukentafel.bootstrap import run_sync
from keukentafel.settings import Settings
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
def sync_source(config_path: str, show_progress: bool = False) -> dict[str, Any]:
    """Run the sync use case; return counts and kept-aside rows (unit codes and reasons only)."""
    settings = Settings.from_env()
    logger = get_run_logger()
    progress, bar = _console_progress() if show_progress else (None, None)
    try:
        if bar is not None:
            bar.start()
        result = run_sync(config_path, settings, progress=progress)
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
    return {
        "run_id": result.run_id,
        "outcome": result.outcome,
        "counts": result.counts,
        "rows_written": result.rows_written,
        "out_of_scope": result.out_of_scope,
        "kept_aside": [
            {
                "entity": r.entity.value,
                "unit_code": r.unit_code,
                "reason": r.reason.value,
                "detail": r.detail,
            }
            for r in result.rejected
        ],
    }


@task(name="publish-sync-report")
def publish_report(summary: dict[str, Any]) -> None:
    rows: list[dict[str, Any]] = [
        {"what": kind, "count": count} for kind, count in summary["counts"].items() if count
    ]
    rows.append({"what": "rows written", "count": summary["rows_written"]})
    rows.append({"what": "kept aside", "count": len(summary["kept_aside"])})
    create_table_artifact(
        key="register-sync-counts", table=rows, description=f"Register sync run {summary['run_id']}"
    )
    if summary["kept_aside"]:
        create_table_artifact(
            key="register-sync-kept-aside",
            table=summary["kept_aside"],
            description="Rows kept aside (not applied, stored versions untouched)",
        )


@flow(name="sync-register", log_prints=False)
def sync_register_flow(config_path: str, show_progress: bool = False) -> dict[str, Any]:
    """Pull the register of one corporation and apply what changed."""
    summary = sync_source(config_path, show_progress)
    publish_report(summary)
    return summary
