"""Faults on demand: each kind behaves as the real thing would, and replays per seed."""

import time

import pytest
import requests

from tests.helpers import AUTH, HARVEST_AUTH

TIME_ENTRIES = "/harvest/v2/time_entries"


def set_faults(server, plan) -> requests.Response:
    return requests.post(f"{server.url}/_sandbox/faults", json=plan, timeout=10)


def statuses(server, n: int) -> list[int]:
    return [
        requests.get(
            server.url + TIME_ENTRIES, params={"per_page": 5}, headers=HARVEST_AUTH, timeout=10
        ).status_code
        for _ in range(n)
    ]


def test_throttling_and_errors_come_with_their_signals(sandbox):
    for kind, status in [("http_429", 429), ("http_503", 503), ("http_500", 500)]:
        set_faults(sandbox, {"harvest": {kind: 1.0}})
        response = requests.get(sandbox.url + TIME_ENTRIES, headers=HARVEST_AUTH, timeout=10)
        assert response.status_code == status
        assert ("Retry-After" in response.headers) == (status in (429, 503))
    set_faults(sandbox, {})
    assert statuses(sandbox, 3) == [200, 200, 200]


def test_other_systems_are_untouched(sandbox):
    set_faults(sandbox, {"harvest": {"http_503": 1.0}})
    deals = requests.get(f"{sandbox.url}/hubspot/crm/v3/objects/deals", headers=AUTH, timeout=10)
    assert deals.status_code == 200


def test_a_dropped_connection_is_a_broken_answer_not_an_error_status(sandbox):
    set_faults(sandbox, {"harvest": {"dropped_connection": 1.0}})
    with pytest.raises(requests.exceptions.ChunkedEncodingError, match="Connection broken"):
        requests.get(sandbox.url + TIME_ENTRIES, headers=HARVEST_AUTH, timeout=10)
    log = requests.get(f"{sandbox.url}/_sandbox/requests", timeout=10).json()["requests"]
    assert log[-1]["fault"] == "dropped_connection"


def test_a_slow_answer_is_late_but_whole(sandbox):
    set_faults(sandbox, {"harvest": {"slow": 1.0}})
    started = time.monotonic()
    response = requests.get(
        sandbox.url + TIME_ENTRIES, params={"per_page": 5}, headers=HARVEST_AUTH, timeout=10
    )
    assert response.status_code == 200 and len(response.json()["time_entries"]) == 5
    assert time.monotonic() - started >= 2.0


def test_the_same_seed_replays_the_same_faults(sandbox):
    plan = {"harvest": {"http_503": 0.3, "http_429": 0.2}}
    set_faults(sandbox, plan)
    first = statuses(sandbox, 30)
    set_faults(sandbox, plan)  # setting a plan restarts every stream from the seed
    assert statuses(sandbox, 30) == first
    assert {200, 429, 503} <= set(first)


@pytest.mark.parametrize(
    "plan",
    [
        {"sap": {"http_503": 1}},
        {"harvest": {"meteor": 0.1}},
        {"harvest": {"http_503": 1.5}},
        {"harvest": {"http_503": 0.6, "http_429": 0.6}},
    ],
)
def test_a_bad_plan_is_refused_with_the_reason(sandbox, plan):
    response = set_faults(sandbox, plan)
    assert response.status_code == 400 and response.json()["detail"]
