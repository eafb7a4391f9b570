import dagster as dg
import pandas as pd
import pytest

from psa_pipeline.quality.checks import ExpectationToolingError, check_result
from psa_pipeline.quality.gx_runner import validate_frame
from psa_pipeline.quality.suites import time_entries_suite


def frame(**overrides) -> pd.DataFrame:
    data = {
        "time_entry_id": [1, 2, 3],
        "project_code": ["PRJ-1", "PRJ-1", "PRJ-2"],
        "hours": [7.5, 8.0, 4.0],
        "bill_rate_currency": ["USD", "EUR", "GBP"],
    }
    return pd.DataFrame(data | overrides)


def test_clean_frame_passes():
    outcome = validate_frame("time_entries", frame(), time_entries_suite())
    assert outcome.passed and outcome.rows == 3 and len(outcome.outcomes) == 5


def test_bad_data_fails_with_the_offending_values():
    outcome = validate_frame(
        "time_entries", frame(hours=[7.5, 30.0, 4.0], time_entry_id=[1, 1, 3]), time_entries_suite()
    )
    failed = {(o.expectation, o.column): o for o in outcome.failures}
    assert set(failed) == {
        ("expect_column_values_to_be_between", "hours"),
        ("expect_column_values_to_be_unique", "time_entry_id"),
    }
    assert failed[("expect_column_values_to_be_between", "hours")].sample == ["30.0"]
    result = check_result(outcome)
    assert not result.passed and result.severity == dg.AssetCheckSeverity.ERROR


def test_an_expectation_that_errors_is_a_tooling_error_not_bad_data():
    outcome = validate_frame("time_entries", frame().drop(columns=["hours"]), time_entries_suite())
    assert [o.column for o in outcome.tooling_errors] == ["hours"]
    assert outcome.failures == []  # the other four expectations judged the data and passed
    with pytest.raises(ExpectationToolingError, match="hours"):
        check_result(outcome)
