"""Run a Great Expectations suite on a pandas frame and sort out what failed and why.

Frames come from DuckDB (GE's own DuckDB SQL datasource reports false failures on this stack).
An expectation that raised inside GE (missing column, metric error) says nothing about the
data: it is a tooling error, reported apart and never counted as bad data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

SAMPLE_SIZE = 5


@dataclass(frozen=True)
class ExpectationOutcome:
    expectation: str
    column: str | None
    success: bool
    unexpected_count: int | None
    sample: list[str]
    tooling_error: str | None

    def __str__(self) -> str:
        where = f"({self.column})" if self.column else ""
        if self.tooling_error:
            return f"{self.expectation}{where}: {self.tooling_error}"
        return f"{self.expectation}{where}: {self.unexpected_count} unexpected, e.g. {self.sample}"


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


def _sample(result: dict, row_id: Sequence[str]) -> list[str]:
    """A few offending values, each with the id of its row when the frame has one."""
    rows = result.get("partial_unexpected_index_list") or []
    if rows and all(isinstance(r, dict) for r in rows):
        return [_describe_row(r, row_id) for r in rows[:SAMPLE_SIZE]]
    return [str(v) for v in (result.get("partial_unexpected_list") or [])[:SAMPLE_SIZE]]


def _describe_row(row: dict, row_id: Sequence[str]) -> str:
    ids = ", ".join(f"{c}={row[c]}" for c in row_id if c in row)
    values = ", ".join(f"{c}={v}" for c, v in row.items() if c not in row_id)
    return f"{ids}: {values}" if ids and values else ids or values


def validate_frame(
    suite_name: str, frame: pd.DataFrame, expectations: list, row_id: Sequence[str] = ()
) -> SuiteOutcome:
    """Judge `frame` by `expectations` (GE objects); `row_id` columns name offending rows."""
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
    result_format: dict = {"result_format": "SUMMARY"}
    ids = [c for c in row_id if c in frame.columns]  # a missing one is the key's tooling error
    if ids:
        result_format["unexpected_index_column_names"] = ids
    result = validation.run(batch_parameters={"dataframe": frame}, result_format=result_format)
    outcomes = [
        ExpectationOutcome(
            expectation=r.expectation_config.type,
            column=_columns(r.expectation_config.kwargs),
            success=bool(r.success),
            unexpected_count=(r.result or {}).get("unexpected_count"),
            sample=_sample(r.result or {}, ids),
            tooling_error=_tooling_error(r.exception_info),
        )
        for r in result.results
    ]
    return SuiteOutcome(suite=suite_name, rows=len(frame), outcomes=outcomes)


def _columns(kwargs: dict) -> str | None:
    if "column" in kwargs:
        return kwargs["column"]
    if "column_list" in kwargs:
        return ", ".join(kwargs["column_list"])
    if "column_A" in kwargs:
        return f"{kwargs['column_A']}, {kwargs['column_B']}"
    return None
