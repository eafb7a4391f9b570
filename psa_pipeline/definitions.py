"""The one Definitions of PSA Pipeline."""

from __future__ import annotations

import shutil
import sys
from dataclasses import asdict
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource
from dagster_dlt import DagsterDltResource

from psa_pipeline.automation.jobs import erp_sync_job, nightly_refresh, refresh_warehouse_job
from psa_pipeline.dashboard.exposures import dashboard_pages
from psa_pipeline.dashboard.held_back import publication_held_back
from psa_pipeline.dashboard.publish import PublicationTarget, published_marts
from psa_pipeline.ingest.assets import ingest_assets
from psa_pipeline.ingest.monthly import reload_month_job
from psa_pipeline.ingest.resources import ApiEndpoint, SourceSystems
from psa_pipeline.quality.checks import quality_checks
from psa_pipeline.reverse_sync.approval import ErpSyncPolicy, approve_corrections_job
from psa_pipeline.reverse_sync.assets import erp_sync_invoices
from psa_pipeline.reverse_sync.sensor import billing_corrections_sensor
from psa_pipeline.settings import SYSTEMS, Settings, load_settings
from psa_pipeline.transform.assets import mart_models, staging_models
from psa_pipeline.transform.project import dbt_project
from psa_pipeline.warehouse import Warehouse


def dbt_executable() -> str:
    """dbt from the interpreter's own environment, so an unactivated .venv still finds it."""
    beside = Path(sys.executable).with_name("dbt")
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


def build_resources(settings: Settings) -> dict:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    endpoints = {system: ApiEndpoint(**asdict(settings.source(system))) for system in SYSTEMS}
    return {
        "warehouse": Warehouse.from_settings(settings),
        "dbt": DbtCliResource(
            project_dir=dbt_project, dbt_executable=dbt_executable(), target=settings.warehouse
        ),
        "dlt_runner": DagsterDltResource(),
        "source_systems": SourceSystems(**endpoints),
        "publication": PublicationTarget(path=str(settings.published_path)),
        "erp_sync_policy": ErpSyncPolicy(
            approval_threshold=(
                None
                if settings.sync_approval_threshold is None
                else str(settings.sync_approval_threshold)
            )
        ),
    }


ASSETS = [
    *ingest_assets,
    staging_models,
    mart_models,
    erp_sync_invoices,
    published_marts,
    dashboard_pages,
]
ASSET_CHECKS = quality_checks


def build_definitions(settings: Settings) -> dg.Definitions:
    return dg.Definitions(
        assets=ASSETS,
        asset_checks=ASSET_CHECKS,
        jobs=[refresh_warehouse_job, erp_sync_job, reload_month_job, approve_corrections_job],
        schedules=[nightly_refresh],
        sensors=[billing_corrections_sensor, publication_held_back],
        resources=build_resources(settings),
        executor=dg.in_process_executor,
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions(load_settings())
