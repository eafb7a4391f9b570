"""Land a vendor's replayed payloads through the product's own ingest asset and staging models.

The same code path as the demo: the system's `ingest_<system>` Dagster asset (dlt, the landing
step, the warehouse resource) into a DuckDB file, then dbt's staging models of that system.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import dagster as dg
import duckdb

from psa_pipeline.definitions import build_definitions
from psa_pipeline.ingest.assets import ingest_assets
from psa_pipeline.settings import Settings, SourceEndpoint
from tests.helpers import dbt

UNUSED = "http://127.0.0.1:9"  # the other systems: never asked in these tests


def settings_for_vendor(system: str, data_dir: Path, endpoint: SourceEndpoint) -> Settings:
    """Every system on an unused address but `system`, which points at the replayed vendor."""
    settings = Settings(data_dir=data_dir).with_sandbox(UNUSED)
    return replace(settings, sources={**settings.sources, system: endpoint})


def land(
    system: str, settings: Settings, instance: dg.DagsterInstance
) -> dg.ExecuteInProcessResult:
    """Materialise the system's ingest asset, as the refresh job does."""
    assets = [a for a in ingest_assets if a.node_def.name == f"ingest_{system}"]
    result = dg.materialize(
        assets, resources=build_definitions(settings).resources, instance=instance
    )
    assert result.success
    return result


def stage(system: str, settings: Settings, work_dir: Path) -> None:
    """Build the system's staging models (views) on what landed."""
    dbt("run", work_dir, settings.warehouse_path, "--select", f"path:models/staging/{system}")


def rows(settings: Settings, sql: str) -> list[dict]:
    """The rows of a query on the warehouse, each as {column: value}."""
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        cursor = conn.execute(sql)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
