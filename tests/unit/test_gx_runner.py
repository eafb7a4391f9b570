import dagster as dg
import pandas as pd

from psa_pipeline.quality.checks import TOOLING_FAILURE, check_result, run_suite
from psa_pipeline.quality.gx_runner import validate_frame
from psa_pipeline.quality.suites import SUITES, Expect, Suite

STAGED_TIME = next(s for s in SUITES if s.asset == "stg_harvest__time_entries")


def frame(**overrides) -> pd.DataFrame:
    data = {
        "time_entry_id": [1, 2, 3],
        "project_code": ["PRJ-1", "PRJ-1", "PRJ-2"],
        "spent_on": pd.to_datetime(["2026-01-05", "2026-01-06", "2026-01-06"]),
        "hours": [7.5, 8.0, 4.0],
        "bill_rate_amount": [150.0, None, 95.0],  # non-billable time has no rate
        "bill_rate_currency": ["USD", "EUR", "GBP"],
    }
    return pd.DataFrame(data | overrides)


def validate(data: pd.DataFrame):
    return validate_frame(STAGED_TIME.asset, data, STAGED_TIME.build(), row_id=STAGED_TIME.key)


def test_clean_frame_passes():
    outcome = validate(frame())
    assert outcome.passed and outcome.rows == 3
    assert len(outcome.outcomes) == len(STAGED_TIME.expectations)
    result = check_result(outcome)
    assert result.passed and result.metadata["tooling_error"].value is False


def test_bad_data_fails_with_the_offending_rows():
    outcome = validate(frame(hours=[7.5, 30.0, 4.0], time_entry_id=[1, 1, 3]))
    failed = {(o.expectation, o.column): o for o in outcome.failures}
    assert set(failed) == {
        ("expect_column_values_to_be_between", "hours"),
        ("expect_column_values_to_be_unique", "time_entry_id"),
    }
    # each offending value comes with the id of its row
    assert failed[("expect_column_values_to_be_between", "hours")].sample == [
        "time_entry_id=1: hours=30.0"
    ]
    assert outcome.tooling_errors == []

    result = check_result(outcome)
    assert not result.passed and result.severity == dg.AssetCheckSeverity.ERROR
    assert result.metadata["rows"].value == 3
    assert result.metadata["tooling_error"].value is False
    assert len(result.metadata["failed"].value) == 2
    assert (
        result.description == f"2 of {len(STAGED_TIME.expectations)} expectations failed on 3 rows"
    )


def test_an_expectation_that_errors_is_a_tooling_error_not_bad_data():
    outcome = validate(frame().drop(columns=["hours"]))
    assert [o.column for o in outcome.tooling_errors] == ["hours"]
    assert outcome.failures == []  # the others judged the data and it passed
    assert not outcome.passed

    result = check_result(outcome)
    assert not result.passed and result.severity == dg.AssetCheckSeverity.ERROR
    assert result.metadata["tooling_error"].value is True
    assert result.metadata["failed"].value == []
    assert "hours" in result.metadata["tooling_errors"].value[0]
    assert result.description.startswith(TOOLING_FAILURE)


def test_tooling_errors_and_bad_data_are_reported_apart():
    outcome = validate(frame(time_entry_id=[1, 1, 3]).drop(columns=["bill_rate_currency"]))
    result = check_result(outcome)
    assert [o.column for o in outcome.tooling_errors] == ["bill_rate_currency"]
    assert [o.column for o in outcome.failures] == ["time_entry_id"]
    assert result.metadata["tooling_error"].value is True
    assert result.description.endswith("1 failed.")


def test_great_expectations_failing_as_a_whole_is_a_tooling_failure():
    broken = Suite("t", "an expectation GE does not have", key=("id",), expect=(Expect("Nope"),))
    result = run_suite(broken, pd.DataFrame({"id": [1]}))
    assert not result.passed and result.severity == dg.AssetCheckSeverity.ERROR
    assert result.metadata["tooling_error"].value is True
    assert result.description.startswith(TOOLING_FAILURE)
    assert "AttributeError" in result.metadata["traceback"].value
