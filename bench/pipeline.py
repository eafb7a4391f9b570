"""Time one full refresh of the warehouse against a sandbox firm, step by step.

    python bench/pipeline.py --size small

Prints the seconds each step took (ingest per system, dbt staging, the GE check, dbt marts),
the rows landed per raw table and the ingest rate. Figures, not assertions: bench/README.md
keeps the latest ones.
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import time
from pathlib import Path

import dagster as dg
import duckdb

from psa_pipeline.automation.demo import QUIET, raw_row_counts
from psa_pipeline.automation.jobs import refresh_warehouse_job
from psa_pipeline.definitions import build_definitions
from psa_pipeline.sandbox.plan import SIZES, FirmConfig
from psa_pipeline.sandbox.server import SandboxServer, open_firm
from psa_pipeline.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="build the firm in DIR and keep it (its published marts feed bench/dashboard.py)",
    )
    args = parser.parse_args()

    with (
        contextlib.nullcontext(args.keep)
        if args.keep
        else tempfile.TemporaryDirectory(prefix="psa-bench-")
    ) as tmp:
        started = time.perf_counter()
        store = open_firm(FirmConfig(seed=args.seed, size=args.size), Path(tmp) / "sandbox")
        generated = time.perf_counter() - started
        settings = Settings(data_dir=Path(tmp) / "data")
        with SandboxServer(store) as server, dg.instance_for_test() as instance:
            defs = build_definitions(settings.with_sandbox(server.url))
            job = defs.resolve_job_def(refresh_warehouse_job.name)
            started = time.perf_counter()
            result = job.execute_in_process(run_config=QUIET, instance=instance)
            total = time.perf_counter() - started
            steps = instance.get_run_step_stats(result.run_id)
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
            rows = raw_row_counts(conn)

    ingest = sum(s.end_time - s.start_time for s in steps if s.step_key.startswith("ingest_"))
    print(f"firm {args.size} (seed {args.seed}): generated in {generated:.1f} s")
    print(f"refresh_warehouse: {total:.1f} s in all")
    for step in sorted(steps, key=lambda s: s.start_time):
        print(f"  {step.step_key:<40}{step.end_time - step.start_time:>8.1f} s")
    for name, count in rows.items():
        print(f"  {name:<40}{count:>10,} rows")
    print(
        f"ingest: {sum(rows.values()):,} rows in {ingest:.1f} s = {sum(rows.values()) / ingest:,.0f} rows/s"
    )


if __name__ == "__main__":
    main()
