"""Bad records are kept aside with their reason; a key column that changes type stops the run."""

import json
from collections.abc import Iterator

import dagster as dg
import duckdb
import pytest

from psa_pipeline.definitions import build_definitions
from psa_pipeline.ingest.assets import ingest_assets
from psa_pipeline.sandbox.server import SandboxServer
from psa_pipeline.sandbox.truth import MALFORMATIONS
from psa_pipeline.settings import SYSTEMS
from tests.helpers import corrupted, settings_for, start_sandbox, truth
from tests.integration.test_ingest import store_count

HARVEST_TASKS = dg.AssetKey(["raw", "harvest", "tasks"])
# the reason the landing rules give for each kind of malformed record the sandbox makes
REASONS = {
    "hours greater than 24 in one day": "hours 30.0 is outside [0, 24]",
    "negative hours": "hours -4.0 is outside [0, 24]",
    "hours sent as text": "hours is not a number: 'seven'",
    "no project id": "no project.id",
    "unknown currency ZZZ": "client.currency 'ZZZ' is not an ISO 4217 currency",
}


@pytest.fixture
def broken_firm(tmp_path) -> Iterator[SandboxServer]:
    """The small firm with two malformed records of each kind."""
    server = start_sandbox(tmp_path / "sandbox", corrupted(malformed_records=2 * len(REASONS)))
    yield server
    server.stop()


def ingest(server, settings, instance, selection=None, raise_on_error=True):
    return dg.materialize(
        ingest_assets,
        resources=build_definitions(settings).resources,
        instance=instance,
        selection=selection,
        raise_on_error=raise_on_error,
    )


def quarantined(settings) -> dict[str, list[tuple]]:
    """Every system's quarantine rows: (resource, record key, reason, load id)."""
    rows: dict[str, list[tuple]] = {}
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        tables = {
            schema
            for (schema,) in conn.execute(
                "select table_schema from information_schema.tables where table_name = 'quarantine'"
            ).fetchall()
        }
        for system in SYSTEMS:
            if f"raw_{system}" in tables:
                rows[system] = conn.execute(
                    f"select resource, record_key, reason, _dlt_load_id, payload "
                    f"from raw_{system}.quarantine order by all"
                ).fetchall()
    return rows


def test_every_malformed_record_is_quarantined_with_its_reason_and_nothing_else(
    broken_firm, tmp_path
):
    settings = settings_for(broken_firm, tmp_path / "data")
    instance = dg.DagsterInstance.ephemeral()
    result = ingest(broken_firm, settings, instance)

    malformed = truth(broken_firm, "malformed_record")
    assert len(malformed) == 2 * len(MALFORMATIONS)
    expected = sorted(
        (endpoint.split("/")[1], record, REASONS[item["detail"]])
        for item in malformed
        for endpoint, records in item["records"].items()
        for record in records
    )
    rows = quarantined(settings)
    assert set(rows) == {"harvest"}, "only Harvest has malformed records"
    assert sorted((resource, key, reason) for resource, key, reason, *_ in rows["harvest"]) == (
        expected
    )
    assert all(load_id for *_, load_id, _ in rows["harvest"])
    assert all(str(json.loads(payload)["id"]) == key for _, key, _, _, payload in rows["harvest"])

    # the good records of the same pages landed: raw + quarantine = what the firm holds
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        for resource in ("time_entries", "expenses"):
            landed = conn.execute(f"select count(*) from raw_harvest.{resource}").fetchone()[0]
            kept_aside = sum(1 for r, *_ in rows["harvest"] if r == resource)
            assert landed + kept_aside == store_count(broken_firm, f"harvest_{resource}")
            assert kept_aside > 0

    metadata = {
        event.asset_key.path[-1]: event.materialization.metadata
        for event in result.get_asset_materialization_events()
        if event.asset_key.path[1] == "harvest"
    }
    for resource in ("time_entries", "expenses", "users"):
        counted = sum(1 for r, *_ in rows["harvest"] if r == resource)
        assert metadata[resource]["rows_quarantined"].value == counted
        assert metadata[resource]["requests"].value >= 1
    assert metadata["time_entries"]["rows_loaded"].value == store_count(
        broken_firm, "harvest_time_entries"
    ) - sum(1 for r, *_ in rows["harvest"] if r == "time_entries")

    # records sent again (changed, still broken) replace their quarantine rows
    with broken_firm.store.connect() as store:
        for resource in ("time_entries", "expenses"):
            store.execute(
                f"update harvest_{resource} set updated_at = '2099-01-01T00:00:00Z', "
                f"notes = 'sent again' where id in "
                f"({','.join(key for r, key, *_ in rows['harvest'] if r == resource)})"
            )
    ingest(broken_firm, settings, instance)
    again = quarantined(settings)["harvest"]
    assert [row[:3] for row in again] == [row[:3] for row in rows["harvest"]]
    assert all("sent again" in payload for *_, payload in again)
    assert {load_id for *_, load_id, _ in again}.isdisjoint(
        {load_id for *_, load_id, _ in rows["harvest"]}
    )


def retype_task_ids_as_text(server: SandboxServer) -> None:
    """Harvest starts sending task ids as strings like "task-7" (ids were integers)."""
    with server.store.connect() as store:
        newest = store.execute("select max(updated_at) from harvest_tasks").fetchone()[0]
        store.executescript(
            "alter table harvest_tasks rename to harvest_tasks_integer_ids;"
            "create table harvest_tasks as select * from harvest_tasks_integer_ids;"
        )
        store.execute(
            "update harvest_tasks set id = 'task-' || id, updated_at = ?",
            (newest.replace("Z", "").rsplit(":", 1)[0] + ":59Z",),
        )


def test_a_key_column_that_changes_type_is_refused_with_a_clear_error(sandbox, tmp_path):
    settings = settings_for(sandbox, tmp_path / "data")
    instance = dg.DagsterInstance.ephemeral()
    ingest(sandbox, settings, instance, selection=[HARVEST_TASKS])
    tasks = store_count(sandbox, "harvest_tasks")

    retype_task_ids_as_text(sandbox)
    result = ingest(sandbox, settings, instance, selection=[HARVEST_TASKS], raise_on_error=False)

    assert not result.success
    message = str(result.get_step_failure_events()[0].step_failure_data.error)
    assert "harvest: table 'tasks' column 'id' is bigint in the warehouse" in message
    assert "'task-" in message
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        assert conn.execute("select count(*) from raw_harvest.tasks").fetchone()[0] == tasks
        columns = {
            c
            for (c,) in conn.execute(
                "select column_name from (describe raw_harvest.tasks)"
            ).fetchall()
        }
    assert "id" in columns and not [c for c in columns if c.startswith("id__v")]
