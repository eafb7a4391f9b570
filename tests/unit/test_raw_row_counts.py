"""The demo's and the bench's row counts cover every raw table, loaded or not yet."""

import duckdb

from psa_pipeline.automation.demo import RAW_TABLES, raw_row_counts


def test_a_table_no_row_has_created_yet_counts_zero(tmp_path):
    with duckdb.connect(str(tmp_path / "w.duckdb")) as conn:
        conn.execute("create schema raw_harvest")
        conn.execute("create table raw_harvest.time_entries as select range as id from range(3)")
        counts = raw_row_counts(conn)
    assert counts["harvest.time_entries"] == 3
    assert set(counts) == {f"{system}.{table}" for system, table in RAW_TABLES}
    assert sum(counts.values()) == 3 and len(counts) > 20
