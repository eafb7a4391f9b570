"""dbt models as Dagster assets, in two steps: staging, then everything built on it.

Two steps rather than one so that checks on staging tables (the Great Expectations suites) run
between them and, being blocking, can stop the marts from building on bad data.
"""

import json
from collections.abc import Iterator

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from psa_pipeline.transform.project import dbt_project
from psa_pipeline.transform.translator import WarehouseDbtTranslator
from psa_pipeline.warehouse import WAREHOUSE_POOL, Warehouse

STAGING = "path:models/staging"
translator = WarehouseDbtTranslator()


def dbt_build(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: Warehouse
) -> Iterator:
    """`dbt build` into the run's warehouse, then a row count on every materialised model.

    The counts are taken after dbt's own process has exited: DuckDB lets one process hold the
    file for writing, so counting while dbt runs (dagster-dbt's fetch_row_counts) would collide
    with it. Events are therefore held until dbt finishes, then emitted with their counts.

    dbt's unit tests check the SQL, not the data, so they run in CI (tests/integration/
    test_dbt_project.py), not in every materialisation.
    """
    invocation = dbt.cli(
        [
            "build",
            "--exclude-resource-type",
            "unit_test",
            # a test of a staging model that also names a later model (a relationship from an
            # intermediate model) runs with the later model, not before it exists
            "--indirect-selection",
            "buildable",
            "--vars",
            json.dumps(warehouse.dbt_vars()),
        ],
        context=context,
        raise_on_error=False,
    )
    events = list(invocation.stream())
    manifest = invocation.manifest
    relations = {
        context.asset_key_for_output(event.output_name): _relation(manifest, event)
        for event in events
        if isinstance(event, dg.Output)
    }
    counts = _row_counts(warehouse, relations)
    for event in events:
        if isinstance(event, dg.Output):
            key = context.asset_key_for_output(event.output_name)
            event = event.with_metadata({**event.metadata, "dagster/row_count": counts[key]})
        yield event
    if not invocation.is_successful():
        raise invocation.get_error()


def _relation(manifest: dict, event: dg.Output) -> str:
    unique_id = event.metadata["unique_id"].value
    return manifest["nodes"][unique_id]["relation_name"]


def _row_counts(warehouse: Warehouse, relations: dict[dg.AssetKey, str]) -> dict[dg.AssetKey, int]:
    if not relations:
        return {}
    with warehouse.read_only() as conn:
        return {
            key: conn.execute(f"select count(*) from {relation}").fetchone()[0]
            for key, relation in relations.items()
        }


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    select=STAGING,
    name="staging_models",
    dagster_dbt_translator=translator,
    pool=WAREHOUSE_POOL,
)
def staging_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: Warehouse):
    yield from dbt_build(context, dbt, warehouse)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    exclude=STAGING,
    name="mart_models",
    dagster_dbt_translator=translator,
    pool=WAREHOUSE_POOL,
)
def mart_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: Warehouse):
    yield from dbt_build(context, dbt, warehouse)
