"""The warehouse resource: one DuckDB file, written by one process at a time.

DuckDB allows a single writing process, so every asset that writes runs in the in-process
executor and in the `warehouse` pool (limit 1, see dagster.yaml); anything that only reads opens
a short read-only connection and closes it before the next writer needs the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dlt
import duckdb
from dagster_duckdb import DuckDBResource

WAREHOUSE_POOL = "warehouse"
# Sources land Arrow pages; dlt stamps dict rows with their load id but Arrow rows only when
# asked, and every raw row (quarantine included) must say which load brought it.
dlt.config["normalize.parquet_normalizer.add_dlt_load_id"] = True


class Warehouse(DuckDBResource):
    """The DuckDB warehouse file, and the dlt pipelines that load it."""

    dlt_pipelines_dir: str

    @contextmanager
    def read_only(self) -> Iterator[duckdb.DuckDBPyConnection]:
        conn = duckdb.connect(self.database, read_only=True)
        try:
            yield conn
        finally:
            conn.close()

    def dlt_pipeline(self, system: str) -> dlt.Pipeline:
        """The pipeline that lands one source system in the raw_<system> schema."""
        return dlt.pipeline(
            pipeline_name=f"psa_{system}",
            destination=dlt.destinations.duckdb(self.database),
            dataset_name=f"raw_{system}",
            pipelines_dir=self.dlt_pipelines_dir,
        )
