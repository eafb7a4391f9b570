"""Jobs and schedules."""

from __future__ import annotations

import dagster as dg

from psa_pipeline.dashboard.publish import PUBLISHED_MARTS
from psa_pipeline.reverse_sync.sensor import ERP_SYNC_JOB

ERP_SYNC = dg.AssetSelection.groups("reverse_sync")
# the dashboard shows each correction's state in the sync, so a sync publishes again
PUBLISHED = dg.AssetSelection.assets(PUBLISHED_MARTS)

refresh_warehouse_job = dg.define_asset_job(
    "refresh_warehouse",
    selection=dg.AssetSelection.all() - ERP_SYNC,
    description="Ingest every source, build every model, run every check. The sensor then "
    "decides whether the ERP sync may run.",
)
# The outbox makes a repeated sync harmless, so a sync that met an unavailable ERP is retried
# (the step, by this policy; a crashed run, by the run retries in dagster.yaml).
erp_sync_job = dg.define_asset_job(
    ERP_SYNC_JOB,
    selection=ERP_SYNC | PUBLISHED,
    op_retry_policy=dg.RetryPolicy(
        max_retries=3, delay=30, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
    ),
    tags={"dagster/max_retries": "3"},
)

nightly_refresh = dg.ScheduleDefinition(
    name="nightly_refresh",
    job=refresh_warehouse_job,
    cron_schedule="0 2 * * *",
    execution_timezone="UTC",
)
