"""A failed, or missing, blocking check upstream keeps corrections out of the ERP.

Each test starts from the same green state, made once: the clean firm refreshed into a
warehouse, with the Dagster instance that saw it (runs, materialisations, check results). Then
the firm serves one record gone bad, over real HTTP, and the refresh runs again for real.
"""

import dataclasses
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import requests

from psa_pipeline.dashboard.held_back import publication_held_back
from psa_pipeline.dashboard.publish import published_marts
from psa_pipeline.definitions import ASSET_CHECKS, ASSETS, build_definitions
from psa_pipeline.quality.checks import CHECK_NAME, TOOLING_FAILURE, build_check
from psa_pipeline.quality.suites import SUITES, not_null
from psa_pipeline.reverse_sync.sensor import billing_corrections_sensor
from psa_pipeline.sandbox.server import SandboxServer
from tests.helpers import settings_for, start_sandbox, suiteql

pytestmark = pytest.mark.slow
RAW_TIME = dg.AssetKey(["raw", "harvest", "time_entries"])
RAW_TIME_SUITE = next(s for s in SUITES if s.asset_key == RAW_TIME)
RAW_TIME_CHECK = dg.AssetCheckKey(RAW_TIME, CHECK_NAME)
PROJECT_CODE_CHECK = dg.AssetCheckKey(
    dg.AssetKey("stg_harvest__time_entries"), "not_null_stg_harvest__time_entries_project_code"
)
BILLING_CORRECTIONS = dg.AssetKey("billing_corrections")
REFRESH = dg.AssetSelection.all() - dg.AssetSelection.groups("reverse_sync")


@dataclass(frozen=True)
class Green:
    instance_dir: Path
    data_dir: Path


@dataclass
class Firm:
    """The green state, copied for one test, and the firm serving on a sandbox of its own."""

    instance: dg.DagsterInstance
    server: SandboxServer
    defs: dg.Definitions

    def refresh(self) -> dg.ExecuteInProcessResult:
        return self.defs.resolve_job_def("refresh_warehouse").execute_in_process(
            instance=self.instance, raise_on_error=False
        )

    def sensor_tick(self):
        return billing_corrections_sensor.evaluate_tick(
            dg.build_sensor_context(instance=self.instance, definitions=self.defs)
        )

    def assert_nothing_reaches_the_erp(self):
        tick = self.sensor_tick()
        assert tick.run_requests == []
        assert "blocked" in tick.skip_message

        sync = self.defs.resolve_job_def("erp_sync_job").execute_in_process(
            instance=self.instance, raise_on_error=False
        )
        assert not sync.success
        failure = sync.get_step_failure_events()[0].step_failure_data.error
        assert "Refusing to write to the ERP" in failure.message
        drafts = "select id from transaction where type = 'CustInvc' and status = 'D'"
        assert suiteql(self.server, drafts) == []
        log = requests.get(f"{self.server.url}/_sandbox/requests", timeout=10).json()["requests"]
        assert not [entry for entry in log if entry["method"] == "PUT"]
        return tick.skip_message

    def published_at(self):
        published = self.defs.resources["publication"].file
        with duckdb.connect(str(published), read_only=True) as conn:
            return conn.execute("select published_at from publication.info").fetchone()[0]

    def held_back_after(self, run: dg.ExecuteInProcessResult) -> dict:
        """What the failure sensor tells the dashboard about a failed run."""
        context = dg.build_run_status_sensor_context(
            sensor_name=publication_held_back.name,
            dagster_instance=self.instance,
            dagster_run=run.dagster_run,
            dagster_event=run.get_run_failure_event(),
            resources={"publication": self.defs.resources["publication"]},
        ).for_run_failure()
        publication_held_back(context)
        held_back = self.defs.resources["publication"].file.with_name("held_back.json")
        return json.loads(held_back.read_text())

    def assert_nothing_downstream_of(self, key: dg.AssetKey, run: dg.ExecuteInProcessResult):
        """No asset built on `key` was built. The ingest went on: every raw table was loaded.
        One dbt step builds all of staging, so the other systems' staging is held back too."""
        graph = self.defs.resolve_asset_graph()
        downstream = dg.AssetSelection.assets(key).downstream(include_self=False).resolve(graph)
        in_run = REFRESH.resolve(graph)
        built = {e.asset_key for e in run.get_asset_materialization_events()}
        assert downstream & in_run and not downstream & built
        assert built == {k for k in in_run if k.path[0] == "raw"}
        started = {e.step_key for e in run.all_events if e.is_step_start}
        assert not {"staging_models", "mart_models"} & started  # dbt never ran


@pytest.fixture(scope="module")
def green(tmp_path_factory) -> Green:
    root = tmp_path_factory.mktemp("green")
    state = Green(root / "instance", root / "data")
    state.instance_dir.mkdir()
    server = start_sandbox(root / "sandbox")
    try:
        with dg.instance_for_test(temp_dir=str(state.instance_dir)) as instance:
            defs = build_definitions(settings_for(server, state.data_dir))
            refresh = defs.resolve_job_def("refresh_warehouse")
            assert refresh.execute_in_process(instance=instance).success
    finally:
        server.stop()
    return state


@pytest.fixture
def firm(green, tmp_path) -> Iterator[Firm]:
    instance_dir, data_dir = tmp_path / "instance", tmp_path / "data"
    shutil.copytree(green.instance_dir, instance_dir)
    shutil.copytree(green.data_dir, data_dir)
    server = start_sandbox(tmp_path / "sandbox")  # the same firm, as the green run read it
    try:
        with dg.instance_for_test(temp_dir=str(instance_dir)) as instance:
            yield Firm(instance, server, build_definitions(settings_for(server, data_dir)))
    finally:
        server.stop()


def rewrite_one_time_entry(server: SandboxServer, assignment: str, where: str = "1 = 1") -> int:
    """Re-record one time entry (the lowest id matching `where`) as the newest change in
    Harvest, so the next incremental load brings it."""
    with server.store.connect() as store:
        newest = store.execute("select max(updated_at) from harvest_time_entries").fetchone()[0]
        later = newest.replace("Z", "").rsplit(":", 1)[0] + ":59Z"
        entry = store.execute(f"select min(id) from harvest_time_entries where {where}")
        entry_id = entry.fetchone()[0]
        store.execute(
            f"update harvest_time_entries set {assignment}, updated_at = ? where id = ?",
            (later, entry_id),
        )
    return entry_id


def failed_checks(run: dg.ExecuteInProcessResult) -> list[dg.AssetCheckEvaluation]:
    return [e for e in run.get_asset_check_evaluations() if not e.passed]


def test_a_failed_dbt_test_stops_the_sensor_and_the_sync(firm):
    """A time entry on a project Harvest does not list, so without a project code (a time
    entry names its project by id only): a well-formed record (it lands, it is not
    quarantined) that no money may be computed from; dbt's not_null on staging stops it."""
    rewrite_one_time_entry(firm.server, "project_id = 999999999")
    published_at = firm.published_at()
    second = firm.refresh()
    assert not second.success
    failed = {e.asset_check_key for e in failed_checks(second)}
    assert PROJECT_CODE_CHECK in failed  # dbt's test on staging; the raw suites passed
    assert {key.asset_key.to_user_string() for key in failed} == {"stg_harvest__time_entries"}
    rebuilt = {e.asset_key.to_user_string() for e in second.get_asset_materialization_events()}
    assert "stg_harvest__time_entries" in rebuilt and "billing_corrections" not in rebuilt

    # billing_corrections from the green run is still there, green on its own checks,
    # but what it was built from is now known to be bad
    message = firm.assert_nothing_reaches_the_erp()
    assert f"{PROJECT_CODE_CHECK.name} is FAILED" in message

    # the dashboard keeps the green figures and says why newer ones were held back
    assert firm.published_at() == published_at
    held_back = firm.held_back_after(second)
    assert held_back["run_id"] == second.run_id
    failed_check = f"check stg_harvest__time_entries:{PROJECT_CODE_CHECK.name} failed"
    assert failed_check in held_back["reasons"]
    # and publishing by hand is refused like the sync, for the same reason
    by_hand = dg.materialize(
        [published_marts],
        resources=firm.defs.resources,
        instance=firm.instance,
        raise_on_error=False,
    )
    assert not by_hand.success and firm.published_at() == published_at
    held_back = firm.held_back_after(by_hand)
    assert held_back["run_id"] == by_hand.run_id
    assert any(f"{PROJECT_CODE_CHECK.name} is FAILED" in r for r in held_back["reasons"]), held_back


def test_a_failed_expectation_on_a_raw_table_blocks_everything_downstream(firm):
    """A negative bill rate: it lands (Harvest rates have no bounds at landing) and no dbt
    test looks at it, but the raw Great Expectations suite rejects it before any model is
    built on it."""
    entry_id = rewrite_one_time_entry(
        firm.server, "billable_rate = -billable_rate", where="billable = 1"
    )
    second = firm.refresh()
    assert not second.success

    # (a) the suite failed, with ERROR severity, naming the record; GE itself ran fine
    [failed] = failed_checks(second)
    assert failed.asset_check_key == RAW_TIME_CHECK
    assert failed.severity == dg.AssetCheckSeverity.ERROR
    assert failed.metadata["tooling_error"].value is False
    [problem] = failed.metadata["failed"].value
    assert problem.startswith("expect_column_values_to_be_between(billable_rate): 1 unexpected")
    assert f"id={entry_id}: billable_rate=-" in problem

    # (b) nothing built on raw Harvest time ran: staging, marts, their dbt tests and suites
    firm.assert_nothing_downstream_of(RAW_TIME, second)
    checked = {e.asset_check_key.asset_key for e in second.get_asset_check_evaluations()}
    assert checked == {key for key in checked if key.path[0] == "raw"}

    # (c) the sensor and the ERP sync see the failed check and push nothing
    message = firm.assert_nothing_reaches_the_erp()
    assert f"raw/harvest/time_entries:{CHECK_NAME} is FAILED" in message
    assert "expectations failed" in message


def test_an_expectation_great_expectations_cannot_run_is_a_tooling_failure_and_blocks(firm):
    """A suite that asks for a column the table does not have: GE cannot judge the data, so
    the check fails as a tooling failure (not as bad data) and blocks like any other."""
    broken = dataclasses.replace(
        RAW_TIME_SUITE, expect=(*RAW_TIME_SUITE.expect, not_null("no_such_column"))
    )
    checks = [build_check(broken) if RAW_TIME_CHECK in c.check_keys else c for c in ASSET_CHECKS]
    run = dg.materialize(
        [*ASSETS, *checks],
        resources=firm.defs.resources,
        instance=firm.instance,
        selection=REFRESH,
        raise_on_error=False,
    )
    assert not run.success

    [failed] = failed_checks(run)
    assert failed.asset_check_key == RAW_TIME_CHECK
    assert failed.severity == dg.AssetCheckSeverity.ERROR
    assert failed.metadata["tooling_error"].value is True
    assert failed.metadata["failed"].value == []  # the data passed everything GE could run
    assert "no_such_column" in failed.metadata["tooling_errors"].value[0]
    assert failed.description.startswith(TOOLING_FAILURE)

    firm.assert_nothing_downstream_of(RAW_TIME, run)
    message = firm.assert_nothing_reaches_the_erp()
    assert f"raw/harvest/time_entries:{CHECK_NAME} is FAILED" in message
    assert TOOLING_FAILURE in message


def test_corrections_rebuilt_on_unchecked_data_are_not_synced(firm):
    """Staging models are views: new raw data reaches them without any check running."""
    rewrite_one_time_entry(firm.server, "project_code = ''")
    # load Harvest alone, then rebuild the corrections alone: no check sees the new data
    for selected in (RAW_TIME, BILLING_CORRECTIONS):
        assert dg.materialize(
            ASSETS, resources=firm.defs.resources, instance=firm.instance, selection=[selected]
        ).success

    tick = firm.sensor_tick()
    assert tick.run_requests == []
    for suite in ("raw/harvest/time_entries", "stg_harvest__time_entries"):
        assert (
            f"{suite}:{CHECK_NAME} has not been evaluated since raw/harvest/time_entries changed"
            in tick.skip_message
        )
