"""Month-end reload: one month of Harvest time and expenses and NetSuite invoices, read whole.

The nightly ingest is incremental on updated-since cursors, so it never sees a record deleted
in the source, and it reads nothing it believes it already has. Month-end close needs the
month as the source has it now. `reload_month` is a job partitioned by month; for each system
it reads the month's records whatever the cursors say (the sources' `month` argument) and
merges them into the same raw tables on the same keys, through the same landing step
(quarantine, key guard, Arrow).

- Its dlt pipelines are named per system and month (`psa_harvest_month_2026_10`): a reload
  shares no dlt state with the nightly pipeline (`psa_harvest`, whose cursors it never reads
  or moves) nor with another month. It starts from the newest schema stored in the dataset,
  so the key guard knows the warehouse's key types even on a month's first reload.
- After the load it deletes, in one transaction per system, the month's raw rows the source no
  longer has (see `MONTH_SCOPES`): the deletions the nightly cannot see.
- Its steps are in the warehouse pool, like every writer, so it never writes DuckDB while
  another run does; two months queue, they do not race.
- It reports each table it rewrote as a materialization of that table's raw asset, with the
  rows loaded, quarantined and deleted, and the load id.
"""

from dataclasses import dataclass

import dagster as dg
import dlt
import duckdb

from psa_pipeline.ingest.assets import SOURCE_FACTORIES
from psa_pipeline.ingest.resources import SourceSystems
from psa_pipeline.sources.landing import QUARANTINE_TABLE, IngestStats
from psa_pipeline.warehouse import WAREHOUSE_POOL, Warehouse

# Early enough for any firm's history; the current month is included (end_offset=1) so that a
# month can be reloaded while it is being closed.
MONTHS = dg.MonthlyPartitionsDefinition(start_date="2020-01-01", end_offset=1)


@dataclass(frozen=True)
class MonthScope:
    """Which raw rows of a table belong to the month a reload read: `where` is a SQL condition
    on the raw table (`{dataset}` its schema) that may use $load_id, the reload's, and
    $first_day / $next_first_day, the month's first day and the next month's (ISO dates)."""

    table: str
    key: str
    where: str


_SPENT_IN_MONTH = "spent_date >= $first_day and spent_date < $next_first_day"
MONTH_SCOPES = {
    "harvest": (
        MonthScope("time_entries", "id", _SPENT_IN_MONTH),
        MonthScope("expenses", "id", _SPENT_IN_MONTH),
    ),
    "netsuite": (
        MonthScope("invoices", "id", "trandate >= $first_day and trandate < $next_first_day"),
        # the lines of the invoices this reload landed, which it read whole. The lines of an
        # invoice it did not find stay: the invoice may only have moved to another month (the
        # nightly brings it back, but not its unchanged lines), and staging keeps only the
        # lines of invoices it has.
        MonthScope(
            "invoice_lines",
            "uniquekey",
            '"transaction" in (select id from {dataset}.invoices where _dlt_load_id = $load_id)',
        ),
    ),
}


def month_pipeline(warehouse: Warehouse, system: str, month: str) -> dlt.Pipeline:
    """The dlt pipeline that reloads one month of one system: raw_<system>, state of its own."""
    return dlt.pipeline(
        pipeline_name=f"psa_{system}_month_{month.replace('-', '_')}",
        destination=dlt.destinations.duckdb(warehouse.database),
        dataset_name=f"raw_{system}",
        pipelines_dir=warehouse.dlt_pipelines_dir,
    )


def stored_schema(pipeline: dlt.Pipeline, system: str) -> dlt.Schema | None:
    """The newest schema of the system the dataset holds (the nightly's, usually), if any."""
    schema = dlt.dataset(pipeline.destination, pipeline.dataset_name, schema=system).schema
    return schema if schema.data_table_names() else None


def _table_exists(conn: duckdb.DuckDBPyConnection, dataset: str, table: str) -> bool:
    return bool(
        conn.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = ? and table_name = ?",
            [dataset, table],
        ).fetchone()[0]
    )


def delete_vanished(
    conn: duckdb.DuckDBPyConnection,
    system: str,
    load_id: str,
    first_day: str,
    next_first_day: str,
    landed: dict[str, int],
) -> dict[str, int]:
    """Delete the month's raw rows the reload did not find in the source, in one transaction.

    A row is kept if this load merged it (its load id is the reload's) or quarantined the
    record it came from. A table of which the reload found no row at all keeps its rows: an
    empty answer is likelier a fault than a month emptied at source.
    """
    dataset = f"raw_{system}"
    params = {"load_id": load_id, "first_day": first_day, "next_first_day": next_first_day}
    quarantined = (
        f"select record_key from {dataset}.{QUARANTINE_TABLE} "
        "where resource = $resource and _dlt_load_id = $load_id and record_key is not null"
        if _table_exists(conn, dataset, QUARANTINE_TABLE)
        else "select null where false"
    )
    deleted: dict[str, int] = {}
    conn.begin()
    try:
        for scope in MONTH_SCOPES[system]:
            if not landed.get(scope.table) or not _table_exists(conn, dataset, scope.table):
                deleted[scope.table] = 0
                continue
            sql = (
                f"delete from {dataset}.{scope.table} "
                f"where {scope.where.format(dataset=dataset)} and _dlt_load_id <> $load_id "
                f"and cast({scope.key} as varchar) not in ({quarantined}) returning 1"
            )
            used = {name: value for name, value in params.items() if f"${name}" in sql}
            if "$resource" in sql:
                used["resource"] = scope.table
            deleted[scope.table] = len(conn.execute(sql, used).fetchall())
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    return deleted


def build_month_reload(system: str) -> dg.OpDefinition:
    make_source = SOURCE_FACTORIES[system]
    tables = [scope.table for scope in MONTH_SCOPES[system]]

    @dg.op(
        name=f"reload_{system}_month",
        pool=WAREHOUSE_POOL,
        out={},
        description=f"Reload the partition's month of {', '.join(tables)} from {system}, "
        "whatever the nightly cursors say, and delete the month's rows the source no longer has.",
    )
    def reload(context: dg.OpExecutionContext, source_systems: SourceSystems, warehouse: Warehouse):
        window = context.partition_time_window
        month = window.start.strftime("%Y-%m")
        first_day, next_first_day = str(window.start.date()), str(window.end.date())
        stats = IngestStats()
        pipeline = month_pipeline(warehouse, system, month)
        info = pipeline.run(
            make_source(source_systems.endpoint(system), stats=stats, month=month),
            loader_file_format="parquet",
            schema=stored_schema(pipeline, system),
        )
        info.raise_on_failed_jobs()
        if len(info.loads_ids) > 1:  # one source is one load package; deleting relies on it
            raise RuntimeError(f"{pipeline.pipeline_name} made loads {info.loads_ids}, not one")
        load_id = info.loads_ids[0] if info.loads_ids else ""  # none: the month had nothing
        landed = {table: stats.of(table).rows_landed for table in tables}
        deleted = dict.fromkeys(tables, 0)
        if load_id:
            with warehouse.get_connection() as conn:
                deleted = delete_vanished(conn, system, load_id, first_day, next_first_day, landed)
        for table in tables:
            key = dg.AssetKey(["raw", system, table])
            yield dg.AssetMaterialization(
                asset_key=key,
                description=f"Month-end reload of {month}",
                metadata={
                    **stats.metadata(key),
                    "rows_deleted": deleted[table],
                    "month": month,
                    "load_id": load_id,
                    "dlt_pipeline": pipeline.pipeline_name,
                },
            )

    return reload


MONTH_RELOADS = [build_month_reload(system) for system in MONTH_SCOPES]


@dg.job(
    name="reload_month",
    partitions_def=MONTHS,
    description="Month-end close: reload one month of Harvest time entries and expenses and "
    "NetSuite invoices and their lines, whatever the nightly cursors say.",
)
def reload_month_job():
    for reload in MONTH_RELOADS:
        reload()
