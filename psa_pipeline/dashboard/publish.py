"""published_marts: the read-only copy of the marts that the dashboard reads.

DuckDB lets one process write a file, and the pipeline writes the warehouse for minutes at a
time; a dashboard reading it would either wait for the pipeline or make the pipeline wait. So
once the marts are built and their checks have passed, this asset copies them into a new file
beside the last publication and renames it into place (`os.replace`, atomic on POSIX): a reader
sees the old publication or the new one, never half of either, and a reader that has the old
file open keeps reading it.

On Postgres there is no single writer to stay clear of: the dashboard reads the marts there on
a read-only session, and the file holds only the publication's own facts.

The file holds, beside the copies (schemas `marts` and `reverse_sync`, as in the warehouse):

- `publication.info`: one row, when it was published (UTC), the as-of date of its figures, the
  run that published it, the warehouse it came from and the reporting currency;
- `publication.fx_rates`: units of the reporting currency one unit of each currency buys on the
  as-of date, so a page can show amounts in another currency;
- `publication.checks`: every check on a mart or anything a mart is built from, with its latest
  result (`passed`, `warned`: a non-blocking check failed, `failed`, `not_evaluated`);
- `publication.table_checks`: per mart, how many of the checks behind it passed or warned.

Publishing is refused, like the ERP sync, while a blocking check on anything the marts are built
from failed or has not been evaluated since its asset changed (reverse_sync.gate). The last
publication then stays in place and `held_back.json` beside it says when and why (written here,
or by the `publication_held_back` sensor when the refresh failed before reaching this asset), so
the dashboard says that newer figures exist and were held back. A publication removes it.
"""

import json
import os
from collections.abc import Iterable
from dataclasses import astuple, dataclass
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import duckdb
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from psa_pipeline.reverse_sync.assets import erp_sync_invoices
from psa_pipeline.reverse_sync.gate import full_asset_graph, latest_completed, sync_gate
from psa_pipeline.settings import HELD_BACK, PUBLISHED_SCHEMAS
from psa_pipeline.transform.assets import mart_models
from psa_pipeline.warehouse import WAREHOUSE_POOL, Warehouse

PUBLISHED_MARTS = dg.AssetKey("published_marts")

MART_KEYS = sorted(
    (key for key, group in mart_models.group_names_by_key.items() if group.startswith("marts")),
    key=lambda key: key.to_user_string(),
)

PUBLICATION_DDL = """
create schema publication;
create table publication.info (
    published_at timestamptz not null, as_of_on date, as_of_month date, run_id varchar not null,
    warehouse varchar not null, reporting_currency varchar
);
create table publication.fx_rates (
    currency varchar not null, fx_rate decimal(18, 8) not null, rate_on date not null
);
create table publication.checks (
    check_name varchar not null, asset_key varchar not null, is_blocking boolean not null,
    status varchar not null, evaluated_at timestamptz, run_id varchar, description varchar
);
create table publication.table_checks (
    table_name varchar not null, checks_total integer not null, checks_passed integer not null,
    checks_warned integer not null, checks_failed integer not null,
    checks_not_evaluated integer not null, warned_checks varchar
);
"""


class PublicationTarget(dg.ConfigurableResource):
    """Where the dashboard's copy of the marts is published (a DuckDB file)."""

    path: str

    @property
    def file(self) -> Path:
        return Path(self.path)


@dataclass(frozen=True)
class CheckResult:  # a row of publication.checks, its columns in order
    check_name: str
    asset_key: str
    is_blocking: bool
    status: str  # passed, warned, failed, not_evaluated
    evaluated_at: datetime | None
    run_id: str | None
    description: str | None


def check_results(instance: dg.DagsterInstance) -> tuple[list[CheckResult], dict[str, list[str]]]:
    """The latest result of every check on a mart or upstream of one, and for each mart the
    checks behind it (`<asset>:<check>` names)."""
    graph = full_asset_graph()
    behind: dict[str, list[str]] = {}
    watched: set[dg.AssetCheckKey] = set()
    for mart in MART_KEYS:
        ancestors = graph.get_ancestor_asset_keys(mart, include_self=True)
        keys = [k for k in graph.asset_check_keys if k.asset_key in ancestors]
        behind[mart.to_user_string()] = sorted(_name(k) for k in keys)
        watched.update(keys)
    results = []
    for key in sorted(watched, key=_name):
        record, _ = latest_completed(instance, key)
        evaluation = record.event.asset_check_evaluation if record and record.event else None
        results.append(
            CheckResult(
                check_name=key.name,
                asset_key=key.asset_key.to_user_string(),
                is_blocking=graph.get_check_spec(key).blocking,
                status=_status(record.status if record else None, evaluation),
                evaluated_at=(
                    datetime.fromtimestamp(record.event.timestamp, UTC)
                    if record and record.event
                    else None
                ),
                run_id=record.run_id if record else None,
                description=evaluation.description if evaluation else None,
            )
        )
    return results, behind


def _name(key: dg.AssetCheckKey) -> str:
    return f"{key.asset_key.to_user_string()}:{key.name}"


def _status(status: AssetCheckExecutionRecordStatus | None, evaluation) -> str:
    if status is None:
        return "not_evaluated"
    if status == AssetCheckExecutionRecordStatus.SUCCEEDED:
        return "passed"
    if evaluation is not None and evaluation.severity == dg.AssetCheckSeverity.WARN:
        return "warned"
    return "failed"


def table_summaries(results: Iterable[CheckResult], behind: dict[str, list[str]]) -> list[tuple]:
    by_name = {f"{r.asset_key}:{r.check_name}": r for r in results}
    rows = []
    for table, names in behind.items():
        statuses = [by_name[name].status for name in names]
        warned = [name for name in names if by_name[name].status == "warned"]
        rows.append(
            (
                table,
                len(names),
                statuses.count("passed"),
                len(warned),
                statuses.count("failed"),
                statuses.count("not_evaluated"),
                ", ".join(warned) or None,
            )
        )
    return rows


def publish(
    warehouse: Warehouse,
    target: Path,
    run_id: str,
    results: list[CheckResult],
    behind: dict[str, list[str]],
) -> dict[str, int]:
    """Write the publication to a new file beside `target`, then rename it into place.
    Returns the rows copied per table (none on Postgres, where the dashboard reads the marts)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    # DuckDB names a file's catalog after its stem, which must not be a schema's name
    staging = target.with_name(f"{target.stem}-{run_id}.publishing")
    staging.unlink(missing_ok=True)
    with warehouse.read_only() as source:
        as_of = source.execute(
            "select as_of_on, as_of_month from intermediate.int_as_of__derived"
        ).fetchone() or (None, None)
        rates = source.execute(
            "select currency, fx_rate, rate_on, reporting_currency "
            "from intermediate.int_fx_rates__daily "
            "where rate_on = (select as_of_on from intermediate.int_as_of__derived)"
        ).fetchall()
    reporting_currency = rates[0][3] if rates else None
    copied: dict[str, int] = {}
    with duckdb.connect(str(staging)) as published:
        published.execute(PUBLICATION_DDL)
        published.execute(
            "insert into publication.info values (?, ?, ?, ?, ?, ?)",
            [datetime.now(UTC), *as_of, run_id, warehouse.kind, reporting_currency],
        )
        _insert(published, "publication.fx_rates", [r[:3] for r in rates])
        _insert(published, "publication.checks", [astuple(r) for r in results])
        _insert(published, "publication.table_checks", table_summaries(results, behind))
        if warehouse.kind == "duckdb":
            published.execute(f"attach '{warehouse.database}' as warehouse (read_only)")
            copied = _copy_schemas(published)
            published.execute("detach warehouse")
    os.replace(staging, target)
    target.with_name(HELD_BACK).unlink(missing_ok=True)
    return copied


def _insert(conn: duckdb.DuckDBPyConnection, table: str, rows: list[tuple]) -> None:
    """Rows into a publication table; none is fine (a firm with no ERP rates yet)."""
    if rows:
        marks = ", ".join("?" for _ in rows[0])
        conn.executemany(f"insert into {table} values ({marks})", rows)


def _copy_schemas(published: duckdb.DuckDBPyConnection) -> dict[str, int]:
    tables = published.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_catalog = 'warehouse' and table_schema in "
        f"({', '.join(repr(s) for s in PUBLISHED_SCHEMAS)}) order by 1, 2"
    ).fetchall()
    copied = {}
    for schema in sorted({schema for schema, _ in tables}):
        published.execute(f"create schema {schema}")
    for schema, table in tables:
        published.execute(
            f"create table {schema}.{table} as select * from warehouse.{schema}.{table}"
        )
        copied[f"{schema}.{table}"] = published.execute(
            f"select count(*) from {schema}.{table}"
        ).fetchone()[0]
    return copied


def record_held_back(target: Path, run_id: str, reasons: list[str]) -> None:
    """Say beside the last publication why a newer one was held back."""
    target.parent.mkdir(parents=True, exist_ok=True)
    held_back = {
        "held_back_at": datetime.now(UTC).isoformat(),
        "run_id": run_id,
        "reasons": reasons,
    }
    staging = target.with_name(f"{HELD_BACK}.{run_id}")
    staging.write_text(json.dumps(held_back, indent=2))
    os.replace(staging, target.with_name(HELD_BACK))


@dg.asset(
    key=PUBLISHED_MARTS,
    group_name="dashboard",
    deps=[*MART_KEYS, erp_sync_invoices.key],
    pool=WAREHOUSE_POOL,
    kinds={"duckdb"},
    description=(
        "The executive dashboard's read-only copy of the marts and the ERP sync ledger, with "
        "when it was published, the as-of date of its figures, the day's exchange rates and the "
        "result of every check behind each mart. Swapped into place atomically; refused, like "
        "the ERP sync, while a blocking check behind the marts failed or is out of date."
    ),
)
def published_marts(
    context: dg.AssetExecutionContext, warehouse: Warehouse, publication: PublicationTarget
) -> dg.MaterializeResult:
    verdict = sync_gate(context.instance, PUBLISHED_MARTS, context.run_id)
    if not verdict.open:
        reasons = verdict.problems + verdict.waiting
        record_held_back(publication.file, context.run_id, reasons)
        raise dg.Failure(
            description="The marts were not published: " + "; ".join(reasons[:5]),
            metadata={"reasons": reasons[:50], "refusals": len(reasons)},
        )
    results, behind = check_results(context.instance)
    copied = publish(warehouse, publication.file, context.run_id, results, behind)
    statuses = [r.status for r in results]
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(publication.file)),
            "tables_copied": len(copied),
            "dagster/row_count": sum(copied.values()),
            "checks_passed": statuses.count("passed"),
            "checks_warned": statuses.count("warned"),
            "checks_not_evaluated": statuses.count("not_evaluated"),
        }
    )
