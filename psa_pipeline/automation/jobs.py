"""Jobs and schedules."""

from __future__ import annotations

import dagster as dg

from psa_pipeline.reverse_sync.sensor import ERP_SYNC_JOB

ERP_SYNC = dg.AssetSelection.groups("reverse_sync")

refresh_warehouse_job = dg.define_asset_job(
    "refresh_warehouse",
    selection=dg.AssetSelection.all() - ERP_SYNC,
    description="Ingest every source, build every model, run every check. The sensor then "
    "decides whether the ERP sync may run.",
)
erp_sync_job = dg.define_asset_job(ERP_SYNC_JOB, selection=ERP_SYNC)

nightly_refresh = dg.ScheduleDefinition(
    name="nightly_refresh",
    job=refresh_warehouse_job,
    cron_schedule="0 2 * * *",
    execution_timezone="UTC",
)
