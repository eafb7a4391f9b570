"""The suites as declared, and the checks built from them, on a real DuckDB file."""

import dagster as dg
import duckdb
import pandas as pd
import pytest

from psa_pipeline.quality.checks import CHECK_NAME, build_check, quality_checks, relation_of
from psa_pipeline.quality.gx_runner import validate_frame
from psa_pipeline.quality.suites import SUITES, Suite, at_least, between, not_null, not_zero
from psa_pipeline.settings import SYSTEMS
from psa_pipeline.warehouse import Warehouse


def test_every_suite_builds_into_great_expectations():
    for suite in SUITES:
        built = suite.build()
        assert [type(e).__name__ for e in built] == [e.kind for e in suite.expectations]


def test_a_suite_starts_with_its_key_present_and_unique():
    single = Suite("raw/x/y", "", key=("id",), expect=(between("n", 0),))
    assert [e.kind for e in single.expectations] == [
        "ExpectColumnValuesToNotBeNull",
        "ExpectColumnValuesToBeUnique",
        "ExpectColumnValuesToBeBetween",
    ]
    mixed = Suite("m", "", key=("id",), expect=(not_null("a", "b"), between("c", 0)))
    assert [e.kwargs["column"] for e in mixed.expect] == ["a", "b", "c"]
    compound = Suite("m", "", key=("a", "b"))
    assert compound.expectations[-1].kind == "ExpectCompoundColumnsToBeUnique"
    assert compound.expectations[-1].kwargs == {"column_list": ["a", "b"]}


def test_one_blocking_check_per_suite_and_a_raw_suite_for_every_system():
    keys = [key for check in quality_checks for key in check.check_keys]
    assert keys == [dg.AssetCheckKey(s.asset_key, CHECK_NAME) for s in SUITES]
    assert all(spec.blocking for check in quality_checks for spec in check.check_specs)
    raw_systems = {s.asset_key.path[1] for s in SUITES if s.asset_key.path[0] == "raw"}
    assert raw_systems == set(SYSTEMS)


def test_every_suite_names_a_table_there_is():
    """A suite on a model that was renamed or dropped fails here, not in a nightly run."""
    for suite in SUITES:
        assert relation_of(suite.asset_key)


def test_relations_raw_tables_and_dbt_models():
    assert relation_of(dg.AssetKey(["raw", "netsuite", "invoices"])) == '"raw_netsuite"."invoices"'
    assert relation_of(dg.AssetKey("stg_harvest__time_entries")) == (
        '"staging"."stg_harvest__time_entries"'
    )
    assert relation_of(dg.AssetKey("billing_corrections")) == '"marts"."billing_corrections"'
    with pytest.raises(KeyError, match="no_such_model"):
        relation_of(dg.AssetKey("no_such_model"))


def test_pair_and_not_zero_expectations_judge_what_they_say():
    suite = Suite(
        "m", "", key=("id",), expect=(at_least("hours", "billable_hours"), not_zero("amount"))
    )
    frame = pd.DataFrame(
        {
            "id": [1, 2, 3],
            "hours": [8.0, 4.0, 2.0],
            "billable_hours": [8.0, 5.0, None],  # 2: more billable than worked
            "amount": [-12.5, 0.0, 3.0],  # a credit is fine; 2: a line of nothing
        }
    )
    outcome = validate_frame("m", frame, suite.build(), row_id=suite.key)
    failed = {o.expectation: o.sample for o in outcome.failures}
    assert failed == {
        "expect_column_pair_values_a_to_be_greater_than_b": ["id=2: hours=4.0, billable_hours=5.0"],
        "expect_column_values_to_not_be_in_set": ["id=2: amount=0.0"],
    }


@pytest.fixture
def warehouse(tmp_path) -> Warehouse:
    database = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(database)) as conn:
        conn.execute("create schema raw_harvest")
        conn.execute(
            "create table raw_harvest.time_entries as "
            "select * from (values (1, 7.5, 150.0), (2, 8.0, -150.0)) as t(id, hours, rate)"
        )
    return Warehouse(database=str(database), dlt_pipelines_dir=str(tmp_path / "dlt"))


def test_a_check_reads_its_table_and_names_the_bad_rows(warehouse):
    suite = Suite(
        "raw/harvest/time_entries",
        "",
        key=("id",),
        expect=(between("rate", 0), between("hours", 0, 24)),
    )
    result = build_check(suite)(warehouse=warehouse)
    assert not result.passed and result.severity == dg.AssetCheckSeverity.ERROR
    assert result.metadata["rows"].value == 2
    assert result.metadata["failed"].value == [
        "expect_column_values_to_be_between(rate): 1 unexpected, e.g. ['id=2: rate=-150.0']"
    ]
    assert result.metadata["tooling_error"].value is False


def test_a_check_on_a_missing_column_is_a_tooling_failure(warehouse):
    suite = Suite("raw/harvest/time_entries", "", key=("id",), expect=not_null("project__code"))
    result = build_check(suite)(warehouse=warehouse)
    assert not result.passed and result.severity == dg.AssetCheckSeverity.ERROR
    assert result.metadata["tooling_error"].value is True
    assert result.metadata["failed"].value == []  # not bad data
    assert "project__code" in result.description
