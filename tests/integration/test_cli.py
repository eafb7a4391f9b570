"""psa-pipeline sandbox serve / truth, run as a user runs them."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import requests

from psa_pipeline.sandbox.server import free_port, wait_until_healthy
from tests.helpers import AUTH

CLI = str(Path(sys.executable).with_name("psa-pipeline"))


def test_serve_with_faults_then_stop(tmp_path):
    port = free_port()
    plan = {"netsuite": {"http_503": 1.0}}
    server = subprocess.Popen(
        [
            CLI,
            "sandbox",
            "serve",
            "--port",
            str(port),
            "--seed",
            "3",
            "--size",
            "small",
            "--token",
            "t0k3n",
            "--faults",
            json.dumps(plan),
        ],
        env={**os.environ, "PSA_DATA_DIR": str(tmp_path)},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, timeout=60)
        assert requests.get(f"{url}/_sandbox/health", timeout=10).json()["firm"] == "small-s3"
        assert requests.get(f"{url}/_sandbox/faults", timeout=10).json() == plan
        suiteql = requests.post(
            f"{url}/netsuite/services/rest/query/v1/suiteql",
            json={"q": "select id from transaction"},
            headers={"Authorization": "Bearer t0k3n", "Prefer": "transient"},
            timeout=10,
        )
        assert suiteql.status_code == 503 and suiteql.headers["Retry-After"] == "1"
        deals = requests.get(f"{url}/hubspot/crm/v3/objects/deals", headers=AUTH, timeout=10)
        # the token given on the command line, not the default: HubSpot answers others 401
        assert deals.status_code == 401
    finally:
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=30) == 0


def test_a_bad_fault_plan_is_refused_before_serving(tmp_path):
    result = subprocess.run(
        [
            CLI,
            "sandbox",
            "serve",
            "--port",
            str(free_port()),
            "--faults",
            '{"sap": {"http_503": 1}}',
        ],
        env={**os.environ, "PSA_DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0 and "unknown system 'sap'" in result.stderr


def test_truth_prints_the_injected_defects(tmp_path):
    result = subprocess.run(
        [CLI, "sandbox", "truth", "--seed", "3", "--size", "small"],
        env={**os.environ, "PSA_DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    truth = json.loads(result.stdout)
    assert truth["firm"] == "small-s3" and truth["defects"]
    assert {"unbilled_time", "time_billed_twice"} <= {d["kind"] for d in truth["defects"]}


def test_knobs_and_defect_rates_shape_the_firm(tmp_path):
    result = subprocess.run(
        [CLI, "sandbox", "truth", "--size", "small", "--consultants", "6", "--months", "2"]
        + ["--defects", '{"malformed_records": 3, "unbilled_time": 0}'],
        env={**os.environ, "PSA_DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    truth = json.loads(result.stdout)
    assert truth["firm"].startswith("small-s7-co6-mo2-d")
    kinds = [d["kind"] for d in truth["defects"]]
    assert kinds.count("malformed_record") == 3 and "unbilled_time" not in kinds
    (store,) = (tmp_path / "sandbox").glob("*.sqlite")
    with sqlite3.connect(store) as conn:
        first_spent = conn.execute("select min(spent_date) from harvest_time_entries").fetchone()
        founders = conn.execute("select count(*) from harvest_users where id < 3102007")
        assert first_spent == ("2026-05-01",) and founders.fetchone() == (6,)
    refused = subprocess.run(
        [CLI, "sandbox", "truth", "--defects", '{"typo_rate": 1}'],
        env={**os.environ, "PSA_DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 2 and "typo_rate" in refused.stderr


def test_a_demo_that_fails_names_the_failed_steps_and_exits_non_zero(tmp_path):
    """A warehouse that does not answer (nothing listens on the Postgres port given): the
    demo says which steps failed and why, in words, and exits non-zero; no traceback."""
    result = subprocess.run(
        [CLI, "demo"],
        env={
            **os.environ,
            "PSA_DATA_DIR": str(tmp_path),
            "PSA_SANDBOX_SIZE": "small",
            "PSA_SANDBOX_URL": f"http://127.0.0.1:{free_port()}",
            "PSA_WAREHOUSE": "postgres",
            "PSA_POSTGRES_PORT": str(free_port()),
            "DAGSTER_HOME": "",
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    failed = [line for line in result.stdout.splitlines() if line.startswith("REFRESH FAILED")]
    assert {line.split()[4].rstrip(":") for line in failed} == {
        f"ingest_{system}" for system in ("hubspot", "kantata", "harvest", "bamboohr", "netsuite")
    }
    assert all("Connection refused" in line for line in failed)
    assert "Executive dashboard: nothing published yet" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
