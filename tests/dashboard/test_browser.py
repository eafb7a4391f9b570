"""The dashboard as a person sees it: `streamlit run` on a free port against the published
firm, every page loaded in a real browser (Debian's chromium, driven by Playwright)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from psa_pipeline.dashboard.pages import ORDER, page_specs
from psa_pipeline.dashboard.shell import money
from tests.dashboard.conftest import APP, Published

pytestmark = pytest.mark.slow

ROOT = APP.parents[2]
CHROMIUM = shutil.which("chromium")
START_SECONDS = 90
RENDER_MS = 60_000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def streamlit_command(port: int) -> list[str]:
    """The command line `make dashboard` runs, on another port."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
    ]


@pytest.fixture(scope="module")
def dashboard(firm: Published, tmp_path_factory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("streamlit") / "streamlit.log"
    env = os.environ | {
        "PSA_DATA_DIR": str(firm.data_dir),
        "PSA_WAREHOUSE": "duckdb",
        # this checkout's code, whichever checkout the virtualenv was installed from
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    with log.open("w") as output:
        server = subprocess.Popen(
            streamlit_command(port), cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            assert server.poll() is None, log.read_text()
            try:
                if requests.get(f"{url}/_stcore/health", timeout=2).text == "ok":
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, f"streamlit did not start: {log.read_text()}"
            time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def expected_figures(firm: Published) -> dict[str, dict[str, str]]:
    """Per page, figures as the page formats them, summed here from the published marts for the
    page's default period (the last month the billing run closed)."""
    month = firm.scalar(
        "select max(margin_month) from marts.project_margin_monthly where is_closed"
    )
    label = month.strftime("%b %Y")

    def margin(column: str) -> str:
        return money(
            firm.scalar(
                f"select sum({column}) from marts.project_margin_monthly where margin_month = ?",
                [month],
            ),
            "USD",
        )

    wip = money(firm.scalar("select sum(wip_reporting_amount) from marts.unbilled_wip"), "USD")
    billable, available = firm.query(
        "select sum(billable_hours), sum(available_hours) from marts.utilization_practice_monthly "
        "where utilization_month = ?",
        [month],
    )[0]
    return {
        "overview": {
            "Billed": margin("billed_reporting_amount"),
            "Delivered": margin("delivered_reporting_amount"),
            "Unbilled WIP": wip,
        },
        "margin": {"Billed": margin("billed_to_date_reporting_amount")},
        "backlog": {
            f"Backlog at the end of {label}": money(
                firm.scalar(
                    "select sum(backlog_reporting_amount) from marts.backlog_monthly "
                    "where backlog_month = ?",
                    [month],
                ),
                "USD",
            )
        },
        "unbilled_wip": {"Unbilled WIP": wip},
        "utilization": {f"Utilization, {label}": f"{float(billable / available):.1%}"},
        "revenue_leakage": {
            f"Leakage, {label}": money(
                firm.scalar(
                    "select sum(leakage_reporting_amount) from marts.revenue_leakage "
                    "where coalesce(billing_month, date_trunc('month', leakage_on)) = ?",
                    [month],
                ),
                "USD",
            )
        },
        "integration_health": {
            "Records for review": f"{firm.scalar('select count(*) from marts.identity_match_review'):,}"
        },
    }


def whole_page(page):
    """The page as tall as its content: Streamlit scrolls inside its main block, so a
    full-page screenshot of the window alone would cut the page at the window's height."""
    height = page.evaluate("document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": 1600, "height": max(1000, int(height))})
    page.wait_for_timeout(500)  # the charts redraw at the new size
    return page


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (apt-get install -y chromium)")
def test_every_page_shows_the_marts_figures_in_a_browser(dashboard, firm, tmp_path):
    from playwright.sync_api import sync_playwright

    expected = expected_figures(firm)
    as_of = firm.scalar("select as_of_on from publication.info")
    timings = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        for name in ORDER:
            started = time.monotonic()
            page.goto(f"{dashboard}/{'' if name == 'overview' else name}")
            page.get_by_text("Data as of").first.wait_for(timeout=RENDER_MS)
            page.locator('[data-testid="stMetric"]').first.wait_for(timeout=RENDER_MS)
            page.locator('[data-testid="stDownloadButton"]').last.wait_for(
                state="attached", timeout=RENDER_MS
            )
            page.wait_for_function(
                "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
                " || !document.querySelector('[data-testid=\"stStatusWidget\"]').innerText"
                ".includes('Running')",
                timeout=RENDER_MS,
            )
            timings[name] = time.monotonic() - started
            shown = {}
            for metric in page.locator('[data-testid="stMetric"]').all():
                label = metric.locator('[data-testid="stMetricLabel"]').inner_text().strip()
                shown[label] = metric.locator('[data-testid="stMetricValue"]').inner_text().strip()
            for label, value in expected[name].items():
                assert shown.get(label) == value, (name, label, shown)
            text = page.locator("body").inner_text()
            assert page_specs()[name].label in text
            assert f"{as_of:%d %b %Y}" in text
            for word in ("Traceback", "Exception", "Error running"):
                assert word not in text, (name, word)
            assert page.locator('[data-testid="stException"]').count() == 0, name
            shot = tmp_path / f"{name}.png"
            whole_page(page).screenshot(path=str(shot))
            print(f"{name}: rendered in {timings[name]:.2f} s, screenshot {shot}")
        browser.close()
    assert set(timings) == set(ORDER)


def test_the_app_is_started_as_the_readme_says():
    readme = (ROOT / "README.md").read_text()
    command = " ".join(streamlit_command(8501)[3:])
    assert command.replace(str(APP), "psa_pipeline/dashboard/app.py") in readme
    assert Path(APP).is_file()
