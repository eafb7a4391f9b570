"""One @dlt_assets per source system.

The source and pipeline given to the decorator only describe the assets (names, keys); each run
builds them again from the `source_systems` and `warehouse` resources, so the same code loads the
sandbox in a test, the demo firm, or a real tenant.
"""

import tempfile
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import dlt
from dagster_dlt import DagsterDltResource, dlt_assets

from psa_pipeline.ingest.resources import ApiEndpoint, SourceSystems
from psa_pipeline.ingest.translator import RawLayerTranslator
from psa_pipeline.sources.bamboohr import bamboohr_source
from psa_pipeline.sources.harvest import harvest_source
from psa_pipeline.sources.hubspot import hubspot_source
from psa_pipeline.sources.kantata import kantata_source
from psa_pipeline.sources.landing import IngestStats
from psa_pipeline.sources.netsuite import netsuite_source
from psa_pipeline.warehouse import WAREHOUSE_POOL, Warehouse

SOURCE_FACTORIES: dict[str, Callable[..., dlt.sources.DltSource]] = {
    "hubspot": lambda endpoint, **landing: hubspot_source(
        endpoint.base_url, endpoint.access_token, **landing
    ),
    "kantata": lambda endpoint, **landing: kantata_source(
        endpoint.base_url, endpoint.access_token, **landing
    ),
    "harvest": lambda endpoint, **landing: harvest_source(
        endpoint.base_url, endpoint.access_token, endpoint.account_id, **landing
    ),
    "bamboohr": lambda endpoint, **landing: bamboohr_source(
        endpoint.base_url, endpoint.access_token, endpoint.company, **landing
    ),
    "netsuite": lambda endpoint, **landing: netsuite_source(
        endpoint.base_url,
        endpoint.access_token,
        endpoint.account_id,
        endpoint.consumer_key,
        endpoint.consumer_secret,
        endpoint.token_id,
        endpoint.token_secret,
        endpoint.date_format,
        **landing,
    ),
}
_DESCRIBE_ONLY = ApiEndpoint(
    base_url="http://describe.invalid", access_token="-", account_id="-", company="-"
)
# dlt creates a working folder for every pipeline object, even one that only describes assets
_DESCRIBE_DIR = str(Path(tempfile.gettempdir()) / "psa-pipeline-describe")


def build_ingest_assets(system: str) -> dg.AssetsDefinition:
    make_source = SOURCE_FACTORIES[system]

    @dlt_assets(
        dlt_source=make_source(_DESCRIBE_ONLY),
        dlt_pipeline=dlt.pipeline(
            pipeline_name=f"psa_{system}",
            destination="duckdb",
            dataset_name=f"raw_{system}",
            pipelines_dir=_DESCRIBE_DIR,
        ),
        name=f"ingest_{system}",
        dagster_dlt_translator=RawLayerTranslator(),
        pool=WAREHOUSE_POOL,
    )
    def ingest(
        context: dg.AssetExecutionContext,
        dlt_runner: DagsterDltResource,
        source_systems: SourceSystems,
        warehouse: Warehouse,
    ):
        stats = IngestStats()
        results = dlt_runner.run(
            context=context,
            dlt_source=make_source(source_systems.endpoint(system), stats=stats),
            dlt_pipeline=warehouse.dlt_pipeline(system),
            loader_file_format=warehouse.loader_file_format,
        )
        for result in results:
            yield dg.MaterializeResult(
                asset_key=result.asset_key,
                metadata={**result.metadata, **stats.metadata(result.asset_key)},
            )

    return ingest


ingest_assets = [build_ingest_assets(system) for system in SOURCE_FACTORIES]
