"""dlt's ``rest_api`` pipeline over the fake VERA server: what issue 12 compares the sync with.

Runs in its own virtualenv (``.bench-venv/dlt``, made by :mod:`bench.dlt_bench`), never in the
project's: it imports dlt and the standard library only. dlt is not a dependency of Keukentafel.

    .bench-venv/dlt/bin/python bench/dlt_pipeline.py URL KEY_ENV COMPLEXES_FILE PIPELINE_DIR
        [--write-disposition merge|replace] [--cluster-kind FIN]

It reads what ``keukentafel sync`` reads: ``/eenheden`` once per complex (``?clusters.code=CODE
&clusters.soort.code=FIN``, as ``connectors.erp.vera.cluster_params`` builds it; the complexes,
one code a line, come from COMPLEXES_FILE as a parent resource that is not loaded itself),
``/relaties`` and ``/overeenkomsten``; auth is the ``X-API-KEY`` header with the key from the
environment variable KEY_ENV; paging is dlt's own ``HeaderCursorPaginator`` on VERA's
``X-Parameters-Cursor`` header (sent back as ``?cursor=``), 100 items a page
(``X-Parameters-AantalPerPagina``). Everything else is dlt's default (nested lists become child
tables, sequential extraction). Destination: duckdb, a file in PIPELINE_DIR; write disposition
``merge`` on ``id`` (what an incremental ERP sync needs) or ``replace``.

Prints one JSON line last: the row counts of the three tables and dlt's own step times.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

import dlt  # after telemetry is switched off
from dlt.sources.rest_api import RESTAPIConfig, rest_api_source

TABLES = {"eenheden": "/eenheden", "relaties": "/relaties", "overeenkomsten": "/overeenkomsten"}
PAGE_SIZE = 100


def source(url: str, key: str, complexes: list[str], disposition: str, cluster_kind: str) -> Any:
    def codes() -> Iterator[list[dict[str, str]]]:
        yield [{"code": code} for code in complexes]  # one batch: rest_api's parents yield pages

    complex_codes = dlt.resource(codes, name="complexes", selected=False)  # parent, not loaded

    params: dict[str, Any] = {"clusters.code": "{resources.complexes.code}"}
    if cluster_kind:
        params["clusters.soort.code"] = cluster_kind
    config: RESTAPIConfig = {
        "client": {
            "base_url": url.rstrip("/") + "/",
            "headers": {"Accept": "application/json", "X-Parameters-AantalPerPagina": "100"},
            "auth": {"type": "api_key", "name": "X-API-KEY", "api_key": key, "location": "header"},
            "paginator": {
                "type": "header_cursor",
                "cursor_key": "X-Parameters-Cursor",
                "cursor_param": "cursor",
            },
        },
        "resource_defaults": {
            "primary_key": "id",
            "write_disposition": disposition,
            "endpoint": {"data_selector": "$"},
        },
        "resources": [
            complex_codes,
            {"name": "eenheden", "endpoint": {"path": "eenheden", "params": params}},
            {"name": "relaties", "endpoint": {"path": "relaties"}},
            {"name": "overeenkomsten", "endpoint": {"path": "overeenkomsten"}},
        ],
    }
    return rest_api_source(config, name="vera")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url")
    parser.add_argument("key_env", help="the environment variable that holds the X-API-KEY")
    parser.add_argument("complexes_file", type=Path, help="complex codes, one a line")
    parser.add_argument("pipeline_dir", type=Path)
    parser.add_argument("--write-disposition", choices=("merge", "replace"), default="merge")
    parser.add_argument("--cluster-kind", default="FIN")
    args = parser.parse_args(argv)
    complexes = [
        line.strip()
        for line in args.complexes_file.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    args.pipeline_dir.mkdir(parents=True, exist_ok=True)
    pipeline = dlt.pipeline(
        pipeline_name="vera_bench",
        pipelines_dir=str(args.pipeline_dir / "pipelines"),
        destination=dlt.destinations.duckdb(str(args.pipeline_dir / "dlt_bench.duckdb")),
        dataset_name="vera",
    )
    src = source(
        args.url,
        os.environ[args.key_env],
        complexes,
        args.write_disposition,
        args.cluster_kind,
    )
    steps: dict[str, float] = {}
    started = time.perf_counter()
    pipeline.extract(src)
    steps["extract_s"] = time.perf_counter() - started
    started = time.perf_counter()
    pipeline.normalize()
    steps["normalize_s"] = time.perf_counter() - started
    started = time.perf_counter()
    info = pipeline.load()
    steps["load_s"] = time.perf_counter() - started
    if info.has_failed_jobs:
        print(f"dlt: failed load jobs: {info}", file=sys.stderr)
        return 1
    counts: dict[str, int] = {}
    with pipeline.sql_client() as client:
        for table in TABLES:
            rows = client.execute_sql(f"SELECT count(*) FROM {table}")
            counts[table] = int(rows[0][0]) if rows else 0
        nested = client.execute_sql(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'vera' "
            "AND table_name LIKE '%\\_\\_%' ESCAPE '\\'"
        )
    result = {
        "write_disposition": args.write_disposition,
        "complexes": len(complexes),
        "counts": counts,
        "nested_tables": int(nested[0][0]) if nested else 0,
        **{k: round(v, 2) for k, v in steps.items()},
        "dlt": dlt.__version__,
    }
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
