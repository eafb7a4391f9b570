"""Time every page of the executive dashboard on a built firm's publication.

    python bench/pipeline.py --size large --keep /tmp/large     # build and publish the firm
    python bench/dashboard.py --data-dir /tmp/large/data 2>/dev/null   # AppTest's warnings

Renders each page with Streamlit's AppTest, as a first visitor (empty caches: every query runs)
and again (cached), and prints the seconds of each. The goal (issue 11): every page under 2 s
on the large firm. Figures, not assertions: bench/README.md keeps the latest ones.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="PSA_DATA_DIR of a built firm")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    published = args.data_dir / "published" / "dashboard.duckdb"
    if not published.exists():
        raise SystemExit(
            f"no publication at {published}: build the firm with bench/pipeline.py --keep"
        )
    os.environ["PSA_DATA_DIR"] = str(args.data_dir)
    print(f"publication: {published} ({published.stat().st_size / 2**20:,.0f} MiB)")
    print(f"  {'page':<22}{'cold median s':>15}{'max':>7}{'warm median s':>15}{'max':>7}")
    for page in ORDER:
        cold = [render(page, cold=True) for _ in range(args.repeat)]
        warm = [render(page, cold=False) for _ in range(args.repeat)]
        print(
            f"  {page:<22}{statistics.median(cold):>15.2f}{max(cold):>7.2f}"
            f"{statistics.median(warm):>15.2f}{max(warm):>7.2f}"
        )


if __name__ == "__main__":
    main()
