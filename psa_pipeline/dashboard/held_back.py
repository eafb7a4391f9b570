"""publication_held_back: when a refresh or a sync fails, the dashboard says so.

A blocking check that fails skips everything downstream of it in its run, published_marts
included, so the asset never gets to say why it did not publish. This sensor does: for each
failed run of a job that publishes, it writes the run's failed checks and steps beside the last
publication (`held_back.json`), and the dashboard shows that newer figures were held back and
why, above figures that stay those of the last good publication.
"""

import dagster as dg
from dagster._core.events import DagsterEventType

from psa_pipeline.automation.jobs import erp_sync_job, refresh_warehouse_job
from psa_pipeline.dashboard.publish import PublicationTarget, record_held_back

MAX_REASONS = 50


def failure_reasons(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    """The run's failed blocking checks, then its failed steps, in the order they happened."""
    reasons = []
    for record in instance.get_records_for_run(
        run_id, of_type={DagsterEventType.ASSET_CHECK_EVALUATION, DagsterEventType.STEP_FAILURE}
    ).records:
        event = record.event_log_entry.dagster_event
        if event.event_type == DagsterEventType.STEP_FAILURE:
            error = event.step_failure_data.error
            reasons.append(
                f"step {event.step_key} failed: {error.message.strip() if error else ''}"
            )
            continue
        evaluation = event.asset_check_evaluation_data
        if not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR:
            key = evaluation.asset_check_key
            reasons.append(f"check {key.asset_key.to_user_string()}:{key.name} failed")
    return reasons[:MAX_REASONS]


@dg.run_failure_sensor(
    name="publication_held_back",
    monitored_jobs=[refresh_warehouse_job, erp_sync_job],
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="After a failed refresh or sync, tells the dashboard that its figures are those "
    "of the last good publication, and why newer ones were held back.",
)
def publication_held_back(context: dg.RunFailureSensorContext, publication: PublicationTarget):
    run_id = context.dagster_run.run_id
    reasons = failure_reasons(context.instance, run_id) or [context.failure_event.message or ""]
    record_held_back(publication.file, run_id, reasons)
