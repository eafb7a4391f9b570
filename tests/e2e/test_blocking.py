"""A failed blocking check anywhere upstream keeps corrections out of the ERP."""

import dagster as dg
import pytest
import requests

from psa_pipeline.definitions import build_definitions
from psa_pipeline.reverse_sync.sensor import billing_corrections_sensor
from tests.helpers import corrupted, settings_for, start_sandbox, suiteql

pytestmark = pytest.mark.slow
GE_CHECK = dg.AssetCheckKey(dg.AssetKey("stg_harvest__time_entries"), "time_entries_expectations")


def test_a_failed_upstream_check_stops_the_sensor_and_the_sync(tmp_path):
    data_dir, firms = tmp_path / "data", tmp_path / "sandbox"
    with dg.instance_for_test() as instance:
        clean = start_sandbox(firms)
        try:
            defs = build_definitions(settings_for(clean, data_dir))
            assert (
                defs.resolve_job_def("refresh_warehouse")
                .execute_in_process(instance=instance)
                .success
            )
        finally:
            clean.stop()

        # The same firm, but one time entry was since re-recorded as 30 hours in a day.
        bad = start_sandbox(firms, corrupted())
        try:
            defs = build_definitions(settings_for(bad, data_dir))
            second = defs.resolve_job_def("refresh_warehouse").execute_in_process(
                instance=instance, raise_on_error=False
            )
            assert not second.success
            failed = [
                e.asset_check_key for e in second.get_asset_check_evaluations() if not e.passed
            ]
            assert failed == [GE_CHECK]
            rebuilt = {
                e.asset_key.to_user_string() for e in second.get_asset_materialization_events()
            }
            assert "stg_harvest__time_entries" in rebuilt and "billing_corrections" not in rebuilt

            # billing_corrections from the clean run is still there, green on its own checks,
            # but what it was built from is now known to be bad
            tick = billing_corrections_sensor.evaluate_tick(
                dg.build_sensor_context(instance=instance, definitions=defs)
            )
            assert tick.run_requests == []
            assert (
                "blocked" in tick.skip_message
                and "time_entries_expectations is FAILED" in tick.skip_message
            )

            sync = defs.resolve_job_def("erp_sync_job").execute_in_process(
                instance=instance, raise_on_error=False
            )
            assert not sync.success
            failure = sync.get_step_failure_events()[0].step_failure_data.error
            assert "Refusing to write to the ERP" in failure.message
            assert suiteql(bad, "select id from transaction where status = 'pendingApproval'") == []
            log = requests.get(f"{bad.url}/_sandbox/requests", timeout=10).json()["requests"]
            assert not [entry for entry in log if entry["method"] == "PUT"]
        finally:
            bad.stop()
