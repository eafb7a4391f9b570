"""A failed, or missing, blocking check upstream keeps corrections out of the ERP."""

from collections.abc import Iterator
from dataclasses import dataclass

import dagster as dg
import pytest
import requests

from psa_pipeline.definitions import ASSETS, build_definitions
from psa_pipeline.reverse_sync.sensor import billing_corrections_sensor
from psa_pipeline.sandbox.server import SandboxServer
from tests.helpers import settings_for, start_sandbox, suiteql

pytestmark = pytest.mark.slow
PROJECT_CODE_CHECK = dg.AssetCheckKey(
    dg.AssetKey("stg_harvest__time_entries"), "not_null_stg_harvest__time_entries_project_code"
)
BILLING_CORRECTIONS = dg.AssetKey("billing_corrections")


@dataclass
class GoneBad:
    """A warehouse refreshed green from the firm, which now serves a time entry without its
    project code: a well-formed record (so it lands, not in quarantine) that no money may be
    computed from, which the checks on staging are there to stop."""

    instance: dg.DagsterInstance
    server: SandboxServer
    defs: dg.Definitions

    def sensor_tick(self):
        return billing_corrections_sensor.evaluate_tick(
            dg.build_sensor_context(instance=self.instance, definitions=self.defs)
        )


def blank_one_project_code(server: SandboxServer) -> None:
    """Re-record one time entry with an empty project code, as the newest change in Harvest."""
    with server.store.connect() as store:
        newest = store.execute("select max(updated_at) from harvest_time_entries").fetchone()[0]
        later = newest.replace("Z", "").rsplit(":", 1)[0] + ":59Z"
        store.execute(
            "update harvest_time_entries set project_code = '', updated_at = ? "
            "where id = (select min(id) from harvest_time_entries)",
            (later,),
        )


@pytest.fixture
def gone_bad(tmp_path) -> Iterator[GoneBad]:
    data_dir, firms = tmp_path / "data", tmp_path / "sandbox"
    with dg.instance_for_test() as instance:
        clean = start_sandbox(firms)
        try:
            defs = build_definitions(settings_for(clean, data_dir))
            refresh = defs.resolve_job_def("refresh_warehouse")
            assert refresh.execute_in_process(instance=instance).success
        finally:
            clean.stop()
        bad = start_sandbox(firms)
        blank_one_project_code(bad)
        try:
            yield GoneBad(instance, bad, build_definitions(settings_for(bad, data_dir)))
        finally:
            bad.stop()


def test_a_failed_upstream_check_stops_the_sensor_and_the_sync(gone_bad):
    second = gone_bad.defs.resolve_job_def("refresh_warehouse").execute_in_process(
        instance=gone_bad.instance, raise_on_error=False
    )
    assert not second.success
    failed = [e.asset_check_key for e in second.get_asset_check_evaluations() if not e.passed]
    assert failed == [PROJECT_CODE_CHECK]
    rebuilt = {e.asset_key.to_user_string() for e in second.get_asset_materialization_events()}
    assert "stg_harvest__time_entries" in rebuilt and "billing_corrections" not in rebuilt

    # billing_corrections from the clean run is still there, green on its own checks,
    # but what it was built from is now known to be bad
    tick = gone_bad.sensor_tick()
    assert tick.run_requests == []
    assert "blocked" in tick.skip_message
    assert f"{PROJECT_CODE_CHECK.name} is FAILED" in tick.skip_message

    sync = gone_bad.defs.resolve_job_def("erp_sync_job").execute_in_process(
        instance=gone_bad.instance, raise_on_error=False
    )
    assert not sync.success
    failure = sync.get_step_failure_events()[0].step_failure_data.error
    assert "Refusing to write to the ERP" in failure.message
    assert (
        suiteql(gone_bad.server, "select id from transaction where status = 'pendingApproval'")
        == []
    )
    log = requests.get(f"{gone_bad.server.url}/_sandbox/requests", timeout=10).json()["requests"]
    assert not [entry for entry in log if entry["method"] == "PUT"]


def test_corrections_rebuilt_on_unchecked_data_are_not_synced(gone_bad):
    """Staging models are views: new raw data reaches them without any check running."""
    # load Harvest alone, then rebuild the corrections alone: no check sees the new data
    for selected in (dg.AssetKey(["raw", "harvest", "time_entries"]), BILLING_CORRECTIONS):
        assert dg.materialize(
            ASSETS,
            resources=gone_bad.defs.resources,
            instance=gone_bad.instance,
            selection=[selected],
        ).success

    tick = gone_bad.sensor_tick()
    assert tick.run_requests == []
    assert (
        "time_entries_expectations has not been evaluated since raw/harvest/time_entries changed"
        in tick.skip_message
    )
