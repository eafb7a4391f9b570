"""`psa-pipeline demo`: the whole product, once, against the sandbox firm.

It starts the sandbox, runs the refresh job in process (every source, model and check), lets
the ERP-sync sensor decide (the same sensor the daemon evaluates under `dagster dev`), runs the
sync it asks for, stops the sandbox and prints what happened. Runs are recorded in the Dagster
instance at DAGSTER_HOME, so `make dev` shows them afterwards. Run again, it loads only what
changed and pushes nothing twice.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse

import dagster as dg
import duckdb
import requests
from dagster._core.storage.tags import RUN_KEY_TAG, SENSOR_NAME_TAG

from psa_pipeline.automation.jobs import refresh_warehouse_job
from psa_pipeline.definitions import build_definitions
from psa_pipeline.ingest.assets import ingest_assets
from psa_pipeline.reverse_sync import ledger
from psa_pipeline.reverse_sync.assets import erp_sync_invoices
from psa_pipeline.reverse_sync.sensor import billing_corrections_sensor
from psa_pipeline.sandbox.plan import DefectRates, FirmConfig
from psa_pipeline.sandbox.server import SandboxServer, open_firm
from psa_pipeline.sandbox.truth import MALFORMATIONS
from psa_pipeline.settings import SYSTEMS, Settings
from psa_pipeline.warehouse import Warehouse

# The demo prints a summary; the step-by-step log is in the Dagster UI.
DASHBOARD_URL = "http://127.0.0.1:8501"  # `make dashboard`
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
# every raw table the ingest assets load, as (system, table), system by system
RAW_TABLES = [
    (key.path[1], key.path[2])
    for assets in ingest_assets
    for key in sorted(assets.keys, key=lambda key: key.path)
]


def raw_row_counts(conn) -> dict[str, int]:
    """Rows in each raw table, as `system.table`; 0 for a table no row has created yet."""
    loaded = set(
        conn.execute("select table_schema, table_name from information_schema.tables").fetchall()
    )
    return {
        f"{system}.{table}": conn.execute(f"select count(*) from raw_{system}.{table}").fetchone()[
            0
        ]
        if (f"raw_{system}", table) in loaded
        else 0
        for system, table in RAW_TABLES
    }


def quarantined_row_count(conn) -> int:
    """Records kept aside at ingest, over every system's quarantine table."""
    tables = {
        schema
        for (schema,) in conn.execute(
            "select table_schema from information_schema.tables where table_name = 'quarantine'"
        ).fetchall()
    }
    return sum(
        conn.execute(f"select count(*) from raw_{system}.quarantine").fetchone()[0]
        for system in SYSTEMS
        if f"raw_{system}" in tables
    )


class DemoFailed(Exception):
    """The demo stopped before its refresh could run; says at which stage and why."""

    def __init__(self, stage: str, log_path: str, error: BaseException):
        self.stage = stage
        super().__init__(
            f"the demo failed while {stage}: {type(error).__name__}: {error}\n"
            f"(every step's output is in {log_path})"
        )


@dataclass
class DemoReport:
    firm: str
    log_path: str
    seconds: float
    refresh_succeeded: bool
    failed_steps: list[tuple[str, str]]  # (step, what went wrong): the refresh stopped there
    warehouse_unreadable: str | None  # why the summary could not read the warehouse, if so
    checks_passed: int
    checks_failed: list[str]  # ERROR severity: they block what is downstream
    checks_warned: list[str]  # WARN severity: worth a look, block nothing
    sensor_outcome: str
    syncs: list[dict]
    raw_rows: dict[str, int]
    quarantined: int
    malformed_injected: int
    margin: list[tuple]
    leakage_found: dict[str, int]
    leakage_injected: dict[str, int]
    leakage_reporting: tuple[str, Decimal]  # the open leakage in the reporting currency
    corrections: dict[str, int]
    outbox: dict[str, int]
    publication: str | None  # what the dashboard shows: where, when published, as of when

    @property
    def ok(self) -> bool:
        return (
            self.refresh_succeeded
            and self.warehouse_unreadable is None
            and not self.checks_failed
            and all(s["success"] for s in self.syncs)
        )


def launch_sensor_runs(
    defs: dg.Definitions, instance: dg.DagsterInstance, sensor: dg.SensorDefinition
) -> tuple[str, list[dg.ExecuteInProcessResult]]:
    """Evaluate a sensor once and execute what it requests, as the daemon would.

    Like the daemon, a run key that already has a run is not launched again.
    """
    tick = sensor.evaluate_tick(dg.build_sensor_context(instance=instance, definitions=defs))
    results = []
    for request in tick.run_requests or []:
        if instance.get_runs(filters=dg.RunsFilter(tags={RUN_KEY_TAG: request.run_key})):
            continue
        job = defs.resolve_job_def(request.job_name or sensor.job_name)
        tags = {**request.tags, RUN_KEY_TAG: request.run_key, SENSOR_NAME_TAG: sensor.name}
        results.append(
            job.execute_in_process(
                run_config={**request.run_config, **QUIET},
                instance=instance,
                tags=tags,
                raise_on_error=False,
            )
        )
    outcome = tick.skip_message or f"{len(tick.run_requests or [])} run(s) requested"
    return outcome, results


def run_demo(settings: Settings) -> DemoReport:
    started = time.monotonic()
    # one record broken of each kind the sandbox knows, for the quarantine to keep aside
    firm = FirmConfig(
        seed=settings.sandbox_seed,
        size=settings.sandbox_size,
        defects=DefectRates(malformed_records=len(MALFORMATIONS)),
    )
    address = urlparse(settings.sandbox_url)
    log_path = settings.data_dir / "demo.log"
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with (
        open(log_path, "w") as log,
        contextlib.redirect_stdout(log),  # dbt's and dlt's step output: kept, not shown
        contextlib.redirect_stderr(log),
    ):
        with _stage("checking the data directory", log_path):
            claim_data_dir(settings.data_dir, firm.key)
        with _stage("making the sandbox firm", log_path):
            store = open_firm(firm, settings.sandbox_dir)
        with _stage(f"starting the sandbox on {settings.sandbox_url}", log_path):
            server = SandboxServer(store, host=address.hostname, port=address.port).start()
        try:
            defs = build_definitions(settings.with_sandbox(server.url))
            instance = (
                dg.DagsterInstance.get()
                if settings.dagster_home
                else dg.DagsterInstance.ephemeral()
            )
            refresh = defs.resolve_job_def(refresh_warehouse_job.name).execute_in_process(
                run_config=QUIET, instance=instance, raise_on_error=False
            )
            checks = refresh.get_asset_check_evaluations()
            if refresh.success:
                outcome, syncs = launch_sensor_runs(defs, instance, billing_corrections_sensor)
            else:
                outcome, syncs = "not evaluated: the refresh did not finish", []
            truth = requests.get(f"{server.url}/_sandbox/truth", timeout=30).json()["defects"]
        finally:
            server.stop()
        try:
            summary, unreadable = _warehouse_summary(defs), None
        except Exception as error:  # the report still says what failed before it
            summary, unreadable = _nothing_read(), f"{type(error).__name__}: {error}"
    return DemoReport(
        firm=firm.key,
        log_path=str(log_path),
        seconds=time.monotonic() - started,
        refresh_succeeded=refresh.success,
        failed_steps=_failed_steps(refresh),
        warehouse_unreadable=unreadable,
        checks_passed=sum(1 for c in checks if c.passed),
        checks_failed=_failed(checks, dg.AssetCheckSeverity.ERROR),
        checks_warned=_failed(checks, dg.AssetCheckSeverity.WARN),
        sensor_outcome=outcome,
        syncs=[sync_summary(result) for result in syncs],
        **summary,
        leakage_injected=dict(Counter(d["kind"] for d in truth if d["category"] == "leakage")),
        malformed_injected=sum(1 for d in truth if d["kind"] == "malformed_record"),
        publication=_publication(defs.resources["publication"].file),
    )


def _publication(published: Path) -> str | None:
    """Where the dashboard reads, when that was published and what date its figures are as of."""
    if not published.exists():
        return None
    with duckdb.connect(str(published), read_only=True) as conn:
        at, as_of = conn.execute("select published_at, as_of_on from publication.info").fetchone()
    return f"{published}: published {at:%Y-%m-%d %H:%M} UTC, figures as of {as_of}"


class OtherFirm(Exception):
    """The data directory already holds another sandbox firm's warehouse."""


def claim_data_dir(data_dir: Path, firm_key: str) -> None:
    """One data directory, one firm: the raw tables merge on keys and dlt's cursors carry on
    from the last run, so a second firm's records would mix with the first's and fail the
    checks (a demo with another seed on the same data/ did exactly that)."""
    marker = data_dir / "firm"
    held = marker.read_text().strip() if marker.exists() else firm_key
    if held != firm_key:
        raise OtherFirm(
            f"{data_dir} holds the sandbox firm {held}, and this run asks for {firm_key}: "
            "run `make clean` first, or set PSA_DATA_DIR to another directory"
        )
    marker.write_text(firm_key)


@contextlib.contextmanager
def _stage(stage: str, log_path) -> Iterator[None]:
    try:
        yield
    except Exception as error:
        raise DemoFailed(stage, str(log_path), error) from error


def _failed_steps(result: dg.ExecuteInProcessResult) -> list[tuple[str, str]]:
    """Each step that failed, with the first line of its error (the rest is in the log)."""
    failed = []
    for event in result.all_events:
        if event.is_step_failure:
            error = event.step_failure_data.error
            while error is not None and error.cause is not None:  # Dagster's wrappers, then
                error = error.cause  # the error the step itself raised
            message = error.message.strip().splitlines()[0] if error else "no error recorded"
            failed.append((event.step_key, message))
    return failed


def _failed(checks, severity: dg.AssetCheckSeverity) -> list[str]:
    return [
        c.asset_check_key.to_user_string()
        for c in checks
        if not c.passed and c.severity == severity
    ]


def sync_summary(result: dg.ExecuteInProcessResult) -> dict:
    """The sync's own figures (its run also publishes the dashboard's copy, after it)."""
    metadata = {}
    for event in result.get_asset_materialization_events():
        if event.asset_key == erp_sync_invoices.key:
            metadata = {k: v.value for k, v in event.materialization.metadata.items()}
    return {"run_id": result.run_id, "success": result.success, **metadata}


def _warehouse_summary(defs: dg.Definitions) -> dict:
    """What the warehouse holds; the marts' part only when the refresh built them."""
    warehouse: Warehouse = defs.resources["warehouse"]
    with warehouse.read_only() as conn:
        raw_rows = raw_row_counts(conn)
        quarantined = quarantined_row_count(conn)
        if not _has_table(conn, "marts", "billing_corrections"):
            return _nothing_read() | {"raw_rows": raw_rows, "quarantined": quarantined}
        # sold is the contract value on each project's latest month; the rest add up
        margin = conn.execute(
            "select currency, count(distinct project_code), "
            "sum(case when is_latest then sold_amount else 0 end), sum(delivered_amount), "
            "sum(billed_amount), sum(collected_amount) from ("
            "select *, margin_month = max(margin_month) over (partition by project_code) "
            "as is_latest from marts.project_margin_monthly) as margin "
            "group by currency order by currency"
        ).fetchall()
        synced = _has_table(conn, "reverse_sync", "erp_sync_outbox")
        # found = still open in the mart, or corrected by an earlier sync (a correction's id is
        # its leakage item's id, and the ERP now bills the item, so the mart no longer has it)
        found = conn.execute(
            "select cause, count(*) from (select cause, leakage_id from marts.revenue_leakage"
            + (
                " union select split_part(correction_id, '-', 1), correction_id"
                " from reverse_sync.erp_sync_ledger"
                if synced
                else ""
            )
            + ") as found group by cause"
        ).fetchall()
        reporting = conn.execute(
            "select any_value(reporting_currency), coalesce(sum(leakage_reporting_amount), 0) "
            "from marts.revenue_leakage"
        ).fetchone()
        corrections = conn.execute(
            "select correction_type, count(*) from marts.billing_corrections group by 1"
        ).fetchall()
        outbox = ledger.status_counts(conn) if synced else {}
    return {
        "raw_rows": raw_rows,
        "quarantined": quarantined,
        "margin": margin,
        "leakage_found": dict(found),
        "leakage_reporting": tuple(reporting),
        "corrections": dict(corrections),
        "outbox": outbox,
    }


def _nothing_read() -> dict:
    return {
        "raw_rows": {},
        "quarantined": 0,
        "margin": [],
        "leakage_found": {},
        "leakage_reporting": (None, Decimal(0)),
        "corrections": {},
        "outbox": {},
    }


def _has_table(conn, schema: str, table: str) -> bool:
    return bool(
        conn.execute(
            "select 1 from information_schema.tables "
            f"where table_schema = '{schema}' and table_name = '{table}'"
        ).fetchall()
    )


def render(report: DemoReport) -> str:
    """The summary: what failed first (if anything), then what the warehouse holds."""
    lines = [f"PSA Pipeline demo: sandbox firm {report.firm}, {report.seconds:.0f} s", ""]
    lines += _failure_lines(report)
    lines += [
        "Rows in the warehouse, per source table:",
        *(f"  {name:<32}{rows:>10,}" for name, rows in report.raw_rows.items()),
        f"  {'kept aside in quarantine':<32}{report.quarantined:>10,}   (raw_<system>.quarantine; "
        f"the sandbox broke {report.malformed_injected})",
        "",
        f"Checks in the refresh run: {report.checks_passed} passed, "
        f"{len(report.checks_warned)} warned, {len(report.checks_failed)} failed",
        *(f"  failed: {name}" for name in report.checks_failed),
        *(f"  warned: {name}" for name in report.checks_warned),
        "",
    ]
    if report.refresh_succeeded:
        lines += _marts_lines(report)
    lines += [
        (
            f"Executive dashboard: `make dashboard`, then open {DASHBOARD_URL} (it reads "
            f"{report.publication})."
            if report.publication
            else "Executive dashboard: nothing published yet (the marts were not built and checked)."
        ),
        "Look around: `make dev`, then open http://127.0.0.1:3000 (assets, checks, runs, sensor).",
        "The warehouse is data/warehouse.duckdb (marts.project_margin_monthly, marts.revenue_leakage);",
        f"every step's output is in {report.log_path}.",
    ]
    return "\n".join(lines)


def _failure_lines(report: DemoReport) -> list[str]:
    lines = [f"REFRESH FAILED at step {step}: {message}" for step, message in report.failed_steps]
    if report.warehouse_unreadable:
        lines.append(f"WAREHOUSE UNREADABLE: {report.warehouse_unreadable}")
    if lines:
        lines += [f"(the whole output of each step is in {report.log_path})", ""]
    return lines


def _marts_lines(report: DemoReport) -> list[str]:
    def amount(value) -> str:
        return f"{Decimal(value or 0):>16,.2f}"

    lines = [
        "Project margin (marts.project_margin_monthly), per currency:",
        f"  {'cur':<5}{'projects':>9}{'sold':>17}{'delivered':>17}{'billed':>17}{'collected':>17}",
        *(
            f"  {cur:<5}{n:>9}{amount(s)}{amount(d)}{amount(b)}{amount(c)}"
            for cur, n, s, d, b, c in report.margin
        ),
        "",
        "Revenue leakage (marts.revenue_leakage), found against what the sandbox injected:",
        f"  {'cause':<26}{'found':>8}{'injected':>10}",
        *(
            f"  {cause:<26}{report.leakage_found.get(cause, 0):>8,}"
            f"{report.leakage_injected.get(cause, 0):>10,}"
            for cause in sorted(set(report.leakage_found) | set(report.leakage_injected))
        ),
        f"  still open, in {report.leakage_reporting[0] or '-'}{amount(report.leakage_reporting[1])}",
        "Billing corrections (marts.billing_corrections): "
        + (", ".join(f"{n:,} {kind}" for kind, n in sorted(report.corrections.items())) or "none"),
        f"ERP sync sensor: {report.sensor_outcome}",
    ]
    for sync in report.syncs:
        planned = sync.get("planned_by_type") or {}
        kinds = ", ".join(
            f"{kind['records']} {record_type}(s) of {kind['lines']} line(s)"
            for record_type, kind in sorted(planned.items())
        )
        lines.append(
            f"  sync run {sync['run_id'][:8]}: {'ok' if sync['success'] else 'FAILED'}, "
            f"{sync.get('records_pushed', 0)} ERP record(s) pushed for "
            f"{sync.get('new_corrections', 0)} new correction(s)" + (f" ({kinds})" if kinds else "")
        )
    return [*lines, f"ERP outbox, all runs: {report.outbox or 'empty'}", ""]
