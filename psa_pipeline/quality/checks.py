"""Great Expectations suites surfaced as blocking Dagster asset checks."""

import dagster as dg

from psa_pipeline.quality.gx_runner import SuiteOutcome, validate_frame
from psa_pipeline.quality.suites import time_entries_suite
from psa_pipeline.warehouse import WAREHOUSE_POOL, Warehouse


class ExpectationToolingError(Exception):
    """Great Expectations itself failed; the data was not judged."""


def check_result(outcome: SuiteOutcome) -> dg.AssetCheckResult:
    if outcome.tooling_errors:
        details = "; ".join(
            f"{o.expectation}({o.column}): {o.tooling_error}" for o in outcome.tooling_errors
        )
        raise ExpectationToolingError(f"suite {outcome.suite} could not run: {details}")
    return dg.AssetCheckResult(
        passed=outcome.passed,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "rows": outcome.rows,
            "expectations": len(outcome.outcomes),
            "failed": [
                f"{o.expectation}({o.column}): {o.unexpected_count} unexpected, e.g. {o.sample}"
                for o in outcome.failures
            ],
        },
    )


@dg.asset_check(
    asset=dg.AssetKey("stg_harvest__time_entries"),
    name="time_entries_expectations",
    blocking=True,
    pool=WAREHOUSE_POOL,
    description="Great Expectations: ids present and unique, 0-24 hours, ISO currency codes.",
)
def time_entries_expectations(warehouse: Warehouse) -> dg.AssetCheckResult:
    with warehouse.read_only() as conn:
        frame = conn.sql("select * from staging.stg_harvest__time_entries").df()
    return check_result(validate_frame("stg_harvest__time_entries", frame, time_entries_suite()))


quality_checks = [time_entries_expectations]
