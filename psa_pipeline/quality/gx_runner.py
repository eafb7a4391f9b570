"""Run a Great Expectations suite on a pandas frame and sort out what failed and why.

Frames come from DuckDB (GE's own DuckDB SQL datasource reports false failures on this stack).
An expectation that raised inside GE (missing column, metric error) says nothing about the
data: it is a tooling error, reported apart and never counted as bad data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd


@dataclass(frozen=True)
class ExpectationOutcome:
    expectation: str
    column: str | None
    success: bool
    unexpected_count: int | None
    sample: list
    tooling_error: str | None


@dataclass(frozen=True)
class SuiteOutcome:
    suite: str
    rows: int
    outcomes: list[ExpectationOutcome] = field(default_factory=list)

    @property
    def tooling_errors(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if o.tooling_error]

    @property
    def failures(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success and not o.tooling_error]

    @property
    def passed(self) -> bool:
        return not self.failures and not self.tooling_errors


def _tooling_error(exception_info: dict | None) -> str | None:
    """GE reports exceptions flat, or keyed by metric id; either way, find any that was raised."""
    if not exception_info:
        return None
    if "raised_exception" in exception_info:
        infos = [exception_info]
    else:
        infos = [info for info in exception_info.values() if isinstance(info, dict)]
    messages = [
        i.get("exception_message") or "exception" for i in infos if i.get("raised_exception")
    ]
    return "; ".join(messages) or None


def validate_frame(suite_name: str, frame: pd.DataFrame, expectations: list) -> SuiteOutcome:
    import great_expectations as gx  # ~7 s to import: only when a check runs
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch = (
        context.data_sources.add_pandas(name="warehouse")
        .add_dataframe_asset(name=suite_name)
        .add_batch_definition_whole_dataframe("whole_frame")
    )
    suite = context.suites.add(gx.ExpectationSuite(name=suite_name, expectations=expectations))
    validation = context.validation_definitions.add(
        gx.ValidationDefinition(name=suite_name, data=batch, suite=suite)
    )
    result = validation.run(batch_parameters={"dataframe": frame})
    outcomes = [
        ExpectationOutcome(
            expectation=r.expectation_config.type,
            column=r.expectation_config.kwargs.get("column"),
            success=bool(r.success),
            unexpected_count=(r.result or {}).get("unexpected_count"),
            sample=[str(v) for v in (r.result or {}).get("partial_unexpected_list", [])[:5]],
            tooling_error=_tooling_error(r.exception_info),
        )
        for r in result.results
    ]
    return SuiteOutcome(suite=suite_name, rows=len(frame), outcomes=outcomes)
