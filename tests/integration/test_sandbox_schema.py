"""The sandbox answers 4xx with a message to whatever it is sent, never 5xx.

`st run` (schemathesis) generates requests from the sandbox's own OpenAPI description, over real
HTTP: its coverage phase walks each parameter's boundaries, its fuzzing phase the rest. The fault
and time-travel controls are left out: asked to, they change what the other operations answer
(injected 5xx are the point of the first). Schemathesis never makes integers large enough to
overflow SQLite, so those boundaries are tested by hand below.
"""

import subprocess
import sys
from pathlib import Path

import pytest
import requests

from psa_pipeline.settings import SANDBOX_HARVEST_ACCOUNT_ID, SANDBOX_TOKEN
from tests.helpers import AUTH, HARVEST_AUTH

HUGE = "9" * 30


def test_schemathesis_finds_no_server_error(sandbox):
    st = Path(sys.executable).with_name("st")
    result = subprocess.run(
        [
            str(st),
            "run",
            f"{sandbox.url}/openapi.json",
            "--checks",
            "not_a_server_error",
            "-H",
            f"Authorization: Bearer {SANDBOX_TOKEN}",
            "-H",
            f"Harvest-Account-Id: {SANDBOX_HARVEST_ACCOUNT_ID}",
            "-H",
            "Prefer: transient",
            "--exclude-path-regex",
            "^/_sandbox/(faults|advance)",
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            "30",
            "--seed",
            "7",
            "--workers",
            "1",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert (
        " generated, " in result.stdout and " failed" not in result.stdout.split("Test cases:")[-1]
    )


@pytest.mark.parametrize(
    ("method", "path", "params", "body"),
    [
        ("get", "/hubspot/crm/v3/objects/deals", {"after": HUGE}, None),
        ("post", "/hubspot/crm/v3/objects/deals/search", {}, {"after": HUGE}),
        ("get", "/harvest/v2/time_entries", {"page": HUGE}, None),
        (
            "post",
            "/netsuite/services/rest/query/v1/suiteql",
            {"offset": HUGE},
            {"q": "select id from transaction"},
        ),
        (
            "post",
            "/netsuite/services/rest/query/v1/suiteql",
            {"offset": "99500", "limit": "1000"},
            {"q": "select id from transaction"},
        ),
    ],
)
def test_paging_past_any_sane_end_is_a_4xx_with_a_reason(sandbox, method, path, params, body):
    response = requests.request(
        method,
        sandbox.url + path,
        params=params,
        json=body,
        headers=HARVEST_AUTH | AUTH | {"Prefer": "transient"},
        timeout=10,
    )
    assert 400 <= response.status_code < 500
    assert response.text  # FastAPI's validation detail, or NetSuite's error details
