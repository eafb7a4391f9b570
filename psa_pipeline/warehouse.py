"""The warehouse resource: one DuckDB file, written by one process at a time, or a Postgres
database (PSA_WAREHOUSE=postgres) for the same raw tables and dbt models.

DuckDB allows a single writing process, so every asset that writes runs in the in-process
executor and in the `warehouse` pool (limit 1, see dagster.yaml); anything that only reads opens
a short read-only connection and closes it before the next writer needs the file.

On Postgres the dlt landing, the dbt build and the read-only readers run; what writes to
DuckDB directly (the reverse sync's ledger, the month-end reload) does not yet.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dlt
import duckdb
from dagster_duckdb import DuckDBResource
from dlt.destinations.impl.postgres.configuration import PostgresCredentials

from psa_pipeline.settings import PostgresConnection, Settings

WAREHOUSE_POOL = "warehouse"
# Sources land Arrow pages; dlt stamps dict rows with their load id but Arrow rows only when
# asked, and every raw row (quarantine included) must say which load brought it.
dlt.config["normalize.parquet_normalizer.add_dlt_load_id"] = True
# How dlt hands pages to each warehouse: DuckDB reads parquet straight from Arrow; Postgres
# takes parquet only through an ADBC driver, so it gets csv, which dlt loads with COPY.
LOADER_FILE_FORMATS = {"duckdb": "parquet", "postgres": "csv"}
# Postgres type ids, to give DataFrames the dtypes DuckDB's `df()` gives
NUMERIC_OID, DATE_OID, INTEGER_OIDS = 1700, 1082, (20, 21, 23)


class Warehouse(DuckDBResource):
    """The warehouse (a DuckDB file, or a Postgres database), and the dlt pipelines that load it.

    `database` is the DuckDB file; the `postgres_*` fields are used when `kind` is postgres.
    """

    dlt_pipelines_dir: str
    kind: str = "duckdb"
    postgres_host: str = "127.0.0.1"
    postgres_port: int = 5432
    postgres_user: str = "postgres"
    postgres_password: str = ""
    postgres_database: str = "postgres"

    @classmethod
    def from_settings(cls, settings: Settings) -> Warehouse:
        return cls(
            database=str(settings.warehouse_path),
            dlt_pipelines_dir=str(settings.dlt_pipelines_dir),
            kind=settings.warehouse,
            postgres_host=settings.postgres.host,
            postgres_port=settings.postgres.port,
            postgres_user=settings.postgres.user,
            postgres_password=settings.postgres.password,
            postgres_database=settings.postgres.database,
        )

    @property
    def postgres(self) -> PostgresConnection:
        return PostgresConnection(
            host=self.postgres_host,
            port=self.postgres_port,
            user=self.postgres_user,
            password=self.postgres_password,
            database=self.postgres_database,
        )

    @property
    def loader_file_format(self) -> str:
        """The file format dlt writes pages in for this warehouse."""
        return LOADER_FILE_FORMATS[self.kind]

    @property
    def dbt_target(self) -> str:
        """The output of dbt_project/profiles.yml that builds into this warehouse."""
        return self.kind

    def dbt_vars(self) -> dict[str, str | int]:
        """The `--vars` that point dbt's profile at this warehouse (the password stays in the
        environment, PSA_POSTGRES_PASSWORD, where the profile reads it)."""
        if self.kind == "postgres":
            return {
                "postgres_host": self.postgres_host,
                "postgres_port": self.postgres_port,
                "postgres_user": self.postgres_user,
                "postgres_database": self.postgres_database,
            }
        return {"warehouse_path": self.database}

    def dlt_destination(self) -> dlt.destinations.duckdb | dlt.destinations.postgres:
        if self.kind == "postgres":
            return dlt.destinations.postgres(credentials=self._dlt_postgres_credentials())
        return dlt.destinations.duckdb(self.database)

    def _dlt_postgres_credentials(self) -> PostgresCredentials:
        # Fields, not a URL: a URL without a password leaves dlt asking for one, and a server
        # that trusts local connections has none to give.
        credentials = PostgresCredentials()
        credentials.drivername = "postgresql"
        credentials.host = self.postgres_host
        credentials.port = self.postgres_port
        credentials.username = self.postgres_user
        credentials.password = self.postgres_password
        credentials.database = self.postgres_database
        return credentials

    @contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write DuckDB connection (the ERP sync's ledger, the month-end reload)."""
        if self.kind != "duckdb":
            # Refuse rather than open an empty DuckDB file beside a Postgres warehouse
            raise NotImplementedError(
                f"the {self.kind} warehouse has no read-write connection yet: the ERP sync's "
                "ledger and the month-end reload run on DuckDB only"
            )
        with super().get_connection() as conn:
            yield conn

    @contextmanager
    def read_only(self) -> Iterator[duckdb.DuckDBPyConnection | PostgresReader]:
        """A short read-only connection: `execute(sql)` then `fetchone`, `fetchall` or `df`."""
        if self.kind == "postgres":
            with PostgresReader.connect(self.postgres) as reader:
                yield reader
            return
        conn = duckdb.connect(self.database, read_only=True)
        try:
            yield conn
        finally:
            conn.close()

    def dlt_pipeline(self, system: str) -> dlt.Pipeline:
        """The pipeline that lands one source system in the raw_<system> schema."""
        return dlt.pipeline(
            pipeline_name=f"psa_{system}",
            destination=self.dlt_destination(),
            dataset_name=f"raw_{system}",
            pipelines_dir=self.dlt_pipelines_dir,
        )


class PostgresReader:
    """The part of a DuckDB connection the warehouse's readers use (`execute(sql)`, then
    `fetchone`, `fetchall` or `df`), on a read-only Postgres session."""

    def __init__(self, connection) -> None:
        self._connection = connection
        self._cursor = None

    @classmethod
    @contextmanager
    def connect(cls, server: PostgresConnection) -> Iterator[PostgresReader]:
        import psycopg2  # only a Postgres warehouse needs the driver loaded

        connection = psycopg2.connect(
            host=server.host,
            port=server.port,
            user=server.user,
            password=server.password,
            dbname=server.database,
            options="-c TimeZone=UTC",
        )
        connection.set_session(readonly=True, autocommit=True)
        try:
            yield cls(connection)
        finally:
            connection.close()

    def execute(self, sql: str, parameters=None) -> PostgresReader:
        self._cursor = self._connection.cursor()
        self._cursor.execute(sql, parameters)
        return self

    def fetchone(self):
        return self._cursor.fetchone()

    def fetchall(self):
        return self._cursor.fetchall()

    def df(self):
        """The rows as a DataFrame with the dtypes DuckDB's `df()` gives: DECIMAL as float64,
        DATE as datetime64, integers with nulls as Int64."""
        import pandas as pd

        columns = [column.name for column in self._cursor.description]
        frame = pd.DataFrame(self._cursor.fetchall(), columns=columns)
        for column in self._cursor.description:
            values = frame[column.name]
            if column.type_code == NUMERIC_OID:
                frame[column.name] = values.astype("float64")
            elif column.type_code == DATE_OID:
                frame[column.name] = pd.to_datetime(values).astype("datetime64[us]")
            elif column.type_code in INTEGER_OIDS and values.isna().any():
                frame[column.name] = values.astype("Int64")
        return frame
