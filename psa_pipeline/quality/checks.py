"""Great Expectations suites surfaced as blocking Dagster asset checks, one per `Suite`.

Every check is blocking with ERROR severity: a failure stops every asset downstream in the run,
and the ERP sync gate (reverse_sync/gate.py) refuses corrections built on data whose latest
check did not pass.

An expectation GE could not run (a column that is not there, a metric that raised) says
nothing about the data. It is reported as a *failed* check flagged `tooling_error` (metadata)
and described as "Great Expectations itself failed; the data was not judged", never counted
among the data's failures (those that did run still report theirs). Failed rather than raised,
on purpose: a failed evaluation is recorded under the check, shown in the UI with its reason,
and is what the ERP sync gate finds as the check's latest result, so it holds the sync shut
(and says why) until the suite runs again and passes. An exception would record no result:
the gate passes over a check left "planned" in a finished run and would judge by the previous
evaluation, blocked only indirectly if the data changed since.

Frames are read with DuckDB's `.df()`: DECIMAL arrives as float64, fine for the ranges, signs
and formats judged here; exact money comparisons belong in dbt.
"""

from __future__ import annotations

import functools
import json
import traceback

import dagster as dg
import pandas as pd

from psa_pipeline.quality.gx_runner import SuiteOutcome, validate_frame
from psa_pipeline.quality.suites import SUITES, Suite
from psa_pipeline.warehouse import WAREHOUSE_POOL, Warehouse

CHECK_NAME = "great_expectations"
TOOLING_FAILURE = "Great Expectations itself failed; the data was not judged"


def check_result(outcome: SuiteOutcome, table: str = "") -> dg.AssetCheckResult:
    judged = len(outcome.outcomes) - len(outcome.tooling_errors)
    metadata = {
        "table": table,
        "rows": outcome.rows,
        "expectations": len(outcome.outcomes),
        "failed": [str(o) for o in outcome.failures],
        "tooling_error": bool(outcome.tooling_errors),
    }
    if outcome.tooling_errors:
        metadata["tooling_errors"] = [str(o) for o in outcome.tooling_errors]
        description = (
            f"{TOOLING_FAILURE} ({len(outcome.tooling_errors)} expectation(s) could not run: "
            + "; ".join(str(o) for o in outcome.tooling_errors)
            + f"). Of the {judged} that ran, {len(outcome.failures)} failed."
        )
    elif outcome.failures:
        description = (
            f"{len(outcome.failures)} of {judged} expectations failed on {outcome.rows} rows"
        )
    else:
        description = f"{judged} expectations held on {outcome.rows} rows"
    return dg.AssetCheckResult(
        passed=outcome.passed,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata=metadata,
        description=description,
    )


def tooling_failure(rows: int, error: BaseException, table: str = "") -> dg.AssetCheckResult:
    """GE failed as a whole (not one expectation): nothing is known about the data."""
    return dg.AssetCheckResult(
        passed=False,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "table": table,
            "rows": rows,
            "tooling_error": True,
            "tooling_errors": [f"{type(error).__name__}: {error}"],
            "traceback": dg.MetadataValue.text("".join(traceback.format_exception(error)).strip()),
        },
        description=f"{TOOLING_FAILURE}: {type(error).__name__}: {error}",
    )


def run_suite(suite: Suite, frame: pd.DataFrame, table: str = "") -> dg.AssetCheckResult:
    try:
        outcome = validate_frame(suite.asset, frame, suite.build(), row_id=suite.key)
    except Exception as error:  # anything raised here is GE failing, not the data
        return tooling_failure(len(frame), error, table)
    return check_result(outcome, table)


@functools.cache
def _dbt_relations() -> dict[dg.AssetKey, str]:
    """Where each dbt node lives, by its asset key, from the manifest dagster-dbt reads."""
    from psa_pipeline.transform.project import dbt_project
    from psa_pipeline.transform.translator import WarehouseDbtTranslator

    translator = WarehouseDbtTranslator()
    nodes = json.loads(dbt_project.manifest_path.read_text())["nodes"].values()
    return {
        translator.get_asset_key(node): f'"{node["schema"]}"."{node["alias"]}"'
        for node in nodes
        if node["resource_type"] in ("model", "snapshot", "seed")
    }


def relation_of(asset_key: dg.AssetKey) -> str:
    """The table behind an asset: raw/<system>/<resource> is dlt's raw_<system>.<resource>;
    anything else is a dbt node."""
    match asset_key.path:
        case ["raw", system, resource]:
            return f'"raw_{system}"."{resource}"'
    relations = _dbt_relations()
    if asset_key not in relations:
        raise KeyError(f"no table for {asset_key.to_user_string()}: not a raw table nor dbt node")
    return relations[asset_key]


def build_check(suite: Suite) -> dg.AssetChecksDefinition:
    """The blocking check of one suite. The table is looked up when the check runs, so a suite
    on a model that is gone does not stop the code location from loading; test_definitions
    pins the suites to the assets instead."""

    @dg.asset_check(
        asset=suite.asset_key,
        name=CHECK_NAME,
        blocking=True,
        pool=WAREHOUSE_POOL,
        description=f"Great Expectations: {suite.description}",
        metadata={"suite": [str(e) for e in suite.expectations]},
    )
    def great_expectations(warehouse: Warehouse) -> dg.AssetCheckResult:
        table = relation_of(suite.asset_key)
        with warehouse.read_only() as conn:
            frame = conn.execute(f"select * from {table}").df()
        return run_suite(suite, frame, table)

    return great_expectations


quality_checks = [build_check(suite) for suite in SUITES]
