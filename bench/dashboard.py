"""Time every page of the executive dashboard on a built firm's publication.

    python bench/pipeline.py --size large --keep /tmp/large     # build and publish the firm
    python bench/dashboard.py --data-dir /tmp/large/data 2>/dev/null   # AppTest's warnings
    python bench/dashboard.py --data-dir data --scale 15 2>/dev/null   # a stand-in, see below

`--scale N` times a copy of the publication whose every mart holds its rows N times, under new
keys (each text id, code and name gets a suffix per copy), so the pages group and filter N
times as many projects, customers and items. The medium firm scaled 15 times stands in for the
large one (10 times the consultants over 1.5 times the months) when building the large firm
does not fit on the machine (it takes over an hour beside other work).

Renders each page with Streamlit's AppTest, as a first visitor (empty caches: every query runs)
and again (cached), and prints the seconds of each. The goal (issue 11): every page under 2 s
on the large firm. Figures, not assertions: bench/README.md keeps the latest ones.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import duckdb
import streamlit as st
from streamlit.testing.v1 import AppTest

from psa_pipeline.dashboard.pages import ORDER

APP = Path(__file__).resolve().parents[1] / "psa_pipeline" / "dashboard" / "app.py"
TIMEOUT = 300


def render(page: str, cold: bool) -> float:
    """Seconds to render `page` in a new session; `cold`: with no query cached (the first
    visitor after a publication), else with the queries another visitor already ran."""
    app = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    app.run()  # the default page, as a browser lands on it
    if cold:
        st.cache_data.clear()
    if page == ORDER[0]:
        started = time.perf_counter()
        app.run()
    else:
        started = time.perf_counter()
        app.switch_page(f"views/{page}.py").run()
    seconds = time.perf_counter() - started
    if app.exception:
        raise SystemExit(f"{page}: {[e.value for e in app.exception]}")
    return seconds


def scaled_copy(published: Path, factor: int, data_dir: Path) -> Path:
    """A copy of the publication in `data_dir` whose marts hold their rows `factor` times."""
    target = data_dir / "published" / published.name
    target.parent.mkdir(parents=True)
    shutil.copyfile(published, target)
    with duckdb.connect(str(target)) as conn:
        tables = conn.execute(
            "select table_name from information_schema.tables where table_schema = 'marts'"
        ).fetchall()
        for (table,) in tables:
            keys = [
                name
                for name, kind in conn.execute(
                    "select column_name, data_type from information_schema.columns "
                    "where table_schema = 'marts' and table_name = ?",
                    [table],
                ).fetchall()
                if kind == "VARCHAR" and name.endswith(("_id", "_code", "_name"))
            ]
            replaced = ", ".join(f"{k} || '-x' || copy.n as {k}" for k in keys)
            star = f"original.* replace ({replaced})" if keys else "original.*"
            conn.execute(f"create temp table original as select * from marts.{table}")
            conn.execute(
                f"insert into marts.{table} select {star} from original "
                f"cross join range(1, {int(factor)}) as copy(n)"
            )
            conn.execute("drop table original")
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="PSA_DATA_DIR of a built firm")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--scale", type=int, default=1, help="time a copy whose marts hold their rows N times"
    )
    args = parser.parse_args()
    published = args.data_dir / "published" / "dashboard.duckdb"
    if not published.exists():
        raise SystemExit(
            f"no publication at {published}: build the firm with bench/pipeline.py --keep"
        )
    if args.scale == 1:
        time_pages(args.data_dir, published, args.repeat)
        return
    with tempfile.TemporaryDirectory(prefix="psa-dashboard-bench-") as scratch:
        scaled = scaled_copy(published, args.scale, Path(scratch))
        print(f"marts scaled {args.scale} times")
        time_pages(Path(scratch), scaled, args.repeat)


def time_pages(data_dir: Path, published: Path, repeat: int) -> None:
    os.environ["PSA_DATA_DIR"] = str(data_dir)
    print(f"publication: {published} ({published.stat().st_size / 2**20:,.0f} MiB)")
    print(f"  {'page':<22}{'cold median s':>15}{'max':>7}{'warm median s':>15}{'max':>7}")
    for page in ORDER:
        cold = [render(page, cold=True) for _ in range(repeat)]
        warm = [render(page, cold=False) for _ in range(repeat)]
        print(
            f"  {page:<22}{statistics.median(cold):>15.2f}{max(cold):>7.2f}"
            f"{statistics.median(warm):>15.2f}{max(warm):>7.2f}"
        )


if __name__ == "__main__":
    main()
