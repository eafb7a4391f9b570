"""Launch the ERP sync when billing corrections were rebuilt, hold rows, and passed their checks."""

import dagster as dg

from psa_pipeline.reverse_sync.assets import BILLING_CORRECTIONS
from psa_pipeline.reverse_sync.gate import sync_gate

ERP_SYNC_JOB = "erp_sync_job"


@dg.sensor(
    name="billing_corrections_sensor",
    job_name=ERP_SYNC_JOB,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Runs erp_sync_invoices after each green materialisation of billing_corrections.",
)
def billing_corrections_sensor(context: dg.SensorEvaluationContext):
    """The cursor is the storage id of the last materialisation decided on.

    A materialisation is decided on once its run has finished and no blocking check it depends
    on is still being evaluated; until then the sensor waits and keeps its cursor. Then it either
    launches one sync, keyed by that storage id so a re-evaluated tick cannot launch a second,
    or is skipped for good with the reason.
    """
    records = context.instance.fetch_materializations(BILLING_CORRECTIONS, limit=1).records
    if not records:
        return dg.SkipReason("billing_corrections has never been materialised")
    record = records[0]
    if context.cursor and record.storage_id <= int(context.cursor):
        return dg.SkipReason(f"no materialisation after {context.cursor}")
    run = context.instance.get_run_by_id(record.run_id)
    if run is not None and not run.is_finished:
        return dg.SkipReason(f"waiting for run {record.run_id} to finish its checks")
    verdict = sync_gate(context.instance, BILLING_CORRECTIONS, record.run_id)
    if verdict.waiting:
        return dg.SkipReason("waiting: " + "; ".join(verdict.waiting))

    context.update_cursor(str(record.storage_id))
    row_count = record.asset_materialization.metadata.get("dagster/row_count")
    if row_count is None or row_count.value == 0:
        return dg.SkipReason("billing_corrections holds no rows")
    if verdict.problems:
        return dg.SkipReason("blocked: " + "; ".join(verdict.problems))
    return dg.RunRequest(
        run_key=f"billing_corrections-{record.storage_id}",
        tags={"psa/billing_corrections_run": record.run_id},
    )
