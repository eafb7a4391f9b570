"""Retries are bounded, wait as the vendor asks, and a run that cannot finish says why.

The ingest tests run with a short retry policy set the way an operator would set it, through
dlt config in the environment (`SOURCES__RETRY__*`).
"""

import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from urllib.parse import quote

import dagster as dg
import duckdb
import pytest
import requests

from psa_pipeline.definitions import build_definitions
from psa_pipeline.ingest.assets import ingest_assets
from psa_pipeline.sandbox.faults import RETRY_AFTER_SECONDS, Faults
from psa_pipeline.sources.harvest import harvest_datetime
from psa_pipeline.sources.http import (
    RetryingSession,
    RetryPolicy,
    SourceUnavailable,
    retry_after_seconds,
)
from tests.helpers import AUTH, HARVEST_AUTH, settings_for
from tests.integration.test_ingest import (
    assert_raw_tables_equal_the_sandbox,
    materialize,
    newest,
    requests_made,
)

MAX_ATTEMPTS = 3
HARVEST_ASSETS = [a for a in ingest_assets if a.op.name == "ingest_harvest"]
SLOW_SECONDS = Faults(seed=0, systems=()).slow_seconds  # how late the sandbox answers


@pytest.fixture
def short_retries(monkeypatch):
    """Three attempts, backoff of at most 0.5 s, Retry-After honoured up to 5 s."""
    for name, value in {
        "MAX_ATTEMPTS": MAX_ATTEMPTS,
        "BASE_DELAY_S": 0.01,
        "MAX_DELAY_S": 5,
        "TIMEOUT_S": 10,
    }.items():
        monkeypatch.setenv(f"SOURCES__RETRY__{name}", str(value))


def set_faults(server, plan: dict) -> None:
    assert requests.post(f"{server.url}/_sandbox/faults", json=plan, timeout=10).ok


def time_entries_cursor(settings) -> str:
    """The incremental cursor dlt keeps for Harvest time entries, as the warehouse has it."""
    pipeline = build_definitions(settings).resources["warehouse"].dlt_pipeline("harvest")
    pipeline.sync_destination()
    resources = pipeline.state["sources"]["harvest"]["resources"]
    return resources["time_entries"]["incremental"]["updated_at"]["last_value"]


def raw_time_entries(settings) -> int:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        return conn.execute("select count(*) from raw_harvest.time_entries").fetchone()[0]


def test_a_system_that_stays_down_fails_the_run_clearly_and_keeps_its_cursor(
    sandbox, tmp_path, short_retries
):
    settings = settings_for(sandbox, tmp_path / "data")
    with dg.instance_for_test() as instance:
        materialize(sandbox, settings, instance, HARVEST_ASSETS)
        loaded, cursor = raw_time_entries(settings), time_entries_cursor(settings)
        newest_entry = newest(sandbox, "updated_at", "harvest_time_entries")
        assert datetime.fromisoformat(cursor) == datetime.fromisoformat(newest_entry)

        # new work is booked, then Harvest answers nothing but 503
        requests.post(f"{sandbox.url}/_sandbox/advance", params={"days": 21}, timeout=60)
        set_faults(sandbox, {"harvest": {"http_503": 1.0}})
        requests.delete(f"{sandbox.url}/_sandbox/requests", timeout=10)
        failed = dg.materialize(
            HARVEST_ASSETS,
            resources=build_definitions(settings).resources,
            instance=instance,
            raise_on_error=False,
        )
        assert not failed.success
        error = failed.get_step_failure_events()[0].step_failure_data.error
        message = error.to_string()  # Dagster's error and its causes, as the UI shows them
        assert "harvest is unavailable: GET /harvest/v2/" in message
        assert f"failed {MAX_ATTEMPTS} times" in message and "503 Service Unavailable" in message

        # the first request that kept failing was tried exactly MAX_ATTEMPTS times, then the
        # run stopped: nothing else was asked for
        log = requests_made(sandbox)
        assert {e["fault"] for e in log} == {"http_503"}
        assert len({(e["path"], e["query"]) for e in log}) == 1
        assert len(log) == MAX_ATTEMPTS

        # nothing of the failed run landed and the cursor did not move...
        assert raw_time_entries(settings) == loaded
        assert time_entries_cursor(settings) == cursor

        # ...so once Harvest is back, the next run asks from there and lands everything once
        set_faults(sandbox, {})
        rerun = materialize(sandbox, settings, instance, HARVEST_ASSETS)
        asked = " ".join(e["query"] for e in rerun if e["path"] == "/harvest/v2/time_entries")
        assert "updated_since=" + quote(harvest_datetime(cursor), safe="") in asked
        assert_raw_tables_equal_the_sandbox(settings, sandbox, systems={"harvest"})
        assert raw_time_entries(settings) > loaded
        newest_entry = newest(sandbox, "updated_at", "harvest_time_entries")
        assert datetime.fromisoformat(time_entries_cursor(settings)) == datetime.fromisoformat(
            newest_entry
        )


def answers_through(session, url: str, headers: dict, requests_sent: int) -> list[tuple]:
    """(time, status, headers) of every answer the session got, retries included, while it
    sent `requests_sent` requests that each ended in a 200."""
    answers: list[tuple] = []

    def stamp(response, *args, **kwargs):
        answers.append((time.monotonic(), response.status_code, response.headers))

    for _ in range(requests_sent):
        response = session.get(url, headers=headers, hooks={"response": [stamp]})
        assert response.status_code == 200
    return answers


def test_throttled_requests_wait_as_long_as_retry_after_says(sandbox):
    """429 and 503 come with Retry-After: 1 s; the backoff alone would wait under 0.3 s."""
    set_faults(sandbox, {"harvest": {"http_429": 0.3, "http_503": 0.3}})
    session = RetryingSession("harvest", RetryPolicy(10, base_delay_s=0.001, max_delay_s=5))
    answers = answers_through(session, f"{sandbox.url}/harvest/v2/users", HARVEST_AUTH, 5)
    throttled = [i for i, (_, status, _) in enumerate(answers) if status in (429, 503)]
    assert {answers[i][1] for i in throttled} == {429, 503}
    for i in throttled:
        assert answers[i + 1][0] - answers[i][0] >= RETRY_AFTER_SECONDS
    assert len(requests_made(sandbox)) == len(answers)


def test_a_throttled_hubspot_waits_out_its_rate_limit_window(sandbox):
    """HubSpot's 429 has no Retry-After, only X-HubSpot-RateLimit-Interval-Milliseconds (10 s):
    the session waits a window (capped here at 1.5 s), not the near-zero backoff."""
    set_faults(sandbox, {"hubspot": {"http_429": 0.5}})
    session = RetryingSession("hubspot", RetryPolicy(10, base_delay_s=0.001, max_delay_s=1.5))
    answers = answers_through(session, f"{sandbox.url}/hubspot/crm/v3/objects/deals", AUTH, 4)
    throttled = [i for i, (_, status, _) in enumerate(answers) if status == 429]
    assert throttled
    for i in throttled:
        headers = answers[i][2]
        assert "Retry-After" not in headers
        assert headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
        assert answers[i + 1][0] - answers[i][0] >= 1.5


def test_every_record_lands_once_through_slow_answers(sandbox, tmp_path, monkeypatch):
    """With a 1 s timeout the sandbox's late answers time out and are asked for again."""
    monkeypatch.setenv("SOURCES__RETRY__BASE_DELAY_S", "0.01")
    monkeypatch.setenv("SOURCES__RETRY__TIMEOUT_S", "1")
    systems = ("harvest", "netsuite")  # paged by links and by keys
    set_faults(sandbox, {system: {"slow": 0.2} for system in systems})
    settings = settings_for(sandbox, tmp_path / "data")
    assets = [a for a in ingest_assets if a.op.name.removeprefix("ingest_") in systems]
    materialize(sandbox, settings, dg.DagsterInstance.ephemeral(), assets)
    time.sleep(SLOW_SECONDS)  # a request that timed out is logged when its late answer is done
    log = requests_made(sandbox)
    slow = [e for e in log if e["fault"] == "slow"]
    assert slow
    for late in slow:
        asked = (late["method"], late["path"], late["query"], late["body"])
        assert any(
            e["fault"] is None and (e["method"], e["path"], e["query"], e["body"]) == asked
            for e in log
        ), late
    assert_raw_tables_equal_the_sandbox(settings, sandbox, set(systems))


def test_outages_are_retried_a_bounded_number_of_times_and_client_errors_never(sandbox):
    session = RetryingSession("harvest", RetryPolicy(MAX_ATTEMPTS, base_delay_s=0.01))
    url = f"{sandbox.url}/harvest/v2/users"
    for kind, last in [
        ("http_500", "500 Internal Server Error"),
        ("dropped_connection", "ChunkedEncodingError: ('Connection broken: IncompleteRead"),
    ]:
        set_faults(sandbox, {"harvest": {kind: 1.0}})
        requests.delete(f"{sandbox.url}/_sandbox/requests", timeout=10)
        with pytest.raises(SourceUnavailable) as raised:
            session.get(url, headers=HARVEST_AUTH)
        assert raised.value.attempts == MAX_ATTEMPTS == len(requests_made(sandbox))
        assert f"GET /harvest/v2/users failed {MAX_ATTEMPTS} times" in str(raised.value)
        assert f"the last with {last}" in str(raised.value)

    set_faults(sandbox, {})
    requests.delete(f"{sandbox.url}/_sandbox/requests", timeout=10)
    assert session.get(url, headers={}).status_code == 401  # no credential: an answer
    assert session.get(url + "/no-such-user", headers=HARVEST_AUTH).status_code == 404
    assert len(requests_made(sandbox)) == 2


def test_backoff_grows_exponentially_with_full_jitter_up_to_the_cap():
    policy = RetryPolicy(max_attempts=8, base_delay_s=0.5, max_delay_s=30)
    assert [policy.ceiling(n) for n in range(1, 9)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
    rng = random.Random(4)
    means = []
    for failures in range(1, 9):
        draws = [policy.backoff(failures, rng) for _ in range(400)]
        ceiling = policy.ceiling(failures)
        assert all(0 <= d <= ceiling for d in draws)
        assert len(set(draws)) == len(draws)  # jitter: no two waits alike
        assert min(draws) < 0.1 * ceiling and max(draws) > 0.9 * ceiling  # full jitter
        means.append(statistics.fmean(draws))
    for shorter, longer in zip(means[:5], means[1:6], strict=True):
        assert 1.6 < longer / shorter < 2.4  # each failure doubles the wait, on average
    assert 0.8 < means[7] / means[6] < 1.25  # until the cap


def test_retry_after_is_seconds_or_a_date_and_is_capped():
    now = time.time()
    in_90_s = format_datetime(datetime.fromtimestamp(now, UTC) + timedelta(seconds=90), True)
    assert retry_after_seconds("7") == 7
    assert retry_after_seconds(in_90_s, now=now) == pytest.approx(90, abs=1)
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0  # in the past
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None
    policy = RetryPolicy(base_delay_s=0.01, max_delay_s=30)
    assert policy.throttled_wait("120", failures=1) == 30
    assert policy.throttled_wait(in_90_s, failures=1) == 30
    assert 0 <= policy.throttled_wait("soon", failures=1) <= 0.01


def test_the_policy_comes_from_dlt_config(monkeypatch):
    monkeypatch.setenv("SOURCES__RETRY__MAX_ATTEMPTS", "2")
    monkeypatch.setenv("SOURCES__RETRY__TIMEOUT_S", "4.5")
    assert RetryPolicy.from_config() == RetryPolicy(max_attempts=2, timeout_s=4.5)
    monkeypatch.setenv("SOURCES__RETRY__MAX_ATTEMPTS", "0")
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy.from_config()
