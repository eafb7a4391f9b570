"""Empty is normal: a firm with one system that has nothing in it yet, and a brand-new tenant
with nothing anywhere, refresh cleanly through every asset and check.

A real tenant may have no credit memos yet, no parent companies, no expenses, or one system
not in use at all. Whatever a source returns, every raw table and every column the sources
declare exists after the first run, every model builds, every blocking check passes, and the
sync sensor has nothing to push.
"""

import dagster as dg
import duckdb
import pytest

from psa_pipeline.automation.demo import launch_sensor_runs
from psa_pipeline.definitions import ASSET_CHECKS, ASSETS, build_definitions
from psa_pipeline.ingest.assets import SOURCE_FACTORIES
from psa_pipeline.ingest.resources import ApiEndpoint
from psa_pipeline.reverse_sync.sensor import billing_corrections_sensor
from psa_pipeline.sandbox.plan import FirmConfig
from psa_pipeline.settings import SYSTEMS
from psa_pipeline.sources.landing import column_name
from tests.helpers import settings_for, start_sandbox

pytestmark = pytest.mark.slow

# what a brand-new account of the vendor has all the same: NetSuite's currency list
IN_EVERY_ACCOUNT = {("netsuite", "currencies")}
MARTS = (
    "project_margin_monthly",
    "backlog_monthly",
    "unbilled_wip",
    "utilization_monthly",
    "revenue_leakage",
    "billing_corrections",
    "integration_health",
)


def declared_columns(system: str) -> dict[str, set[str]]:
    """Every resource of a system's source and the columns it declares, by warehouse name."""
    nowhere = ApiEndpoint(
        base_url="http://x.invalid", access_token="-", account_id="-", company="-"
    )
    source = SOURCE_FACTORIES[system](nowhere)
    return {
        name: {column_name(column) for column in resource.columns}
        for name, resource in source.resources.items()
    }


def warehouse_columns(conn, schema: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for table, column in conn.execute(
        "select table_name, column_name from information_schema.columns where table_schema = ?",
        [schema],
    ).fetchall():
        found.setdefault(table, set()).add(column)
    return found


@pytest.mark.parametrize("empty", [(system,) for system in SYSTEMS] + [SYSTEMS], ids="+".join)
def test_a_firm_with_empty_systems_refreshes_cleanly(empty, tmp_path):
    server = start_sandbox(tmp_path / "sandbox", FirmConfig(seed=7, empty_systems=empty))
    try:
        settings = settings_for(server, tmp_path / "data")
        defs = build_definitions(settings)
        with dg.instance_for_test() as instance:
            result = dg.materialize(
                [*ASSETS, *ASSET_CHECKS],
                resources=defs.resources,
                instance=instance,
                selection=dg.AssetSelection.all() - dg.AssetSelection.groups("reverse_sync"),
                raise_on_error=False,
            )
            failed_steps = [event.step_key for event in result.all_events if event.is_step_failure]
            assert result.success, f"failed steps: {failed_steps}"
            failed_checks = [
                c.asset_check_key.to_user_string()
                for c in result.get_asset_check_evaluations()
                if not c.passed and c.severity == dg.AssetCheckSeverity.ERROR
            ]
            assert not failed_checks
            _, syncs = launch_sensor_runs(defs, instance, billing_corrections_sensor)
            assert all(sync.success for sync in syncs)

        with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
            for system in SYSTEMS:
                landed = warehouse_columns(conn, f"raw_{system}")
                for table, columns in declared_columns(system).items():
                    assert table in landed, f"raw_{system}.{table} was not created"
                    assert columns <= landed[table], (system, table, columns - landed[table])
                    if system in empty and (system, table) not in IN_EVERY_ACCOUNT:
                        rows = conn.execute(f"select count(*) from raw_{system}.{table}")
                        assert rows.fetchone()[0] == 0, (system, table)
            marts = warehouse_columns(conn, "marts")
            assert set(MARTS) <= set(marts)
            if set(empty) == set(SYSTEMS):
                for mart in MARTS:
                    count = conn.execute(f"select count(*) from marts.{mart}").fetchone()[0]
                    assert count == 0, mart
    finally:
        server.stop()
