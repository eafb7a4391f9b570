"""The whole warehouse on Postgres: the ingest lands the sandbox firm there, `dbt build` builds
every model and passes every test, and every model holds the numbers it holds on DuckDB. (And,
without a server, that no name dbt creates is too long for Postgres.)

Runs against a real server (PSA_POSTGRES_HOST/PORT/USER/PASSWORD, default 127.0.0.1:5432 as
user postgres), in a database of its own that it creates and drops. Without a server it is
skipped with the reason, except in CI, where .ci/run has started one and a skip would hide a
broken set-up.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import closing
from dataclasses import replace
from pathlib import Path

import dagster as dg
import duckdb
import psycopg2
import pytest
import yaml
from streamlit.testing.v1 import AppTest

from psa_pipeline.dashboard.pages import ORDER
from psa_pipeline.dashboard.publish import publish
from psa_pipeline.definitions import build_definitions, dbt_executable
from psa_pipeline.ingest.assets import ingest_assets
from psa_pipeline.settings import DBT_PROJECT_DIR, PostgresConnection, Settings, load_settings
from psa_pipeline.warehouse import Warehouse
from tests.dashboard.conftest import APP as DASHBOARD_APP
from tests.helpers import settings_for, start_sandbox

# Columns whose values depend on when, not on what, was loaded or built
VOLATILE_PREFIXES = ("_dlt", "dbt_")
POSTGRES_MAX_IDENTIFIER = 63  # bytes; dbt refuses a longer relation name on Postgres


def dbt_relation_names() -> dict[str, str]:
    """Every name dbt creates a relation under, with the file that names it: models and
    snapshots (by file name) and unit tests (each builds a relation named after itself)."""
    names = {}
    for folder in ("models", "snapshots"):
        for sql in sorted(DBT_PROJECT_DIR.glob(f"{folder}/**/*.sql")):
            names[sql.stem] = str(sql.relative_to(DBT_PROJECT_DIR))
    for yml in sorted(DBT_PROJECT_DIR.glob("models/**/*.y*ml")):
        for unit_test in (yaml.safe_load(yml.read_text()) or {}).get("unit_tests") or []:
            names[unit_test["name"]] = str(yml.relative_to(DBT_PROJECT_DIR))
    return names


def test_every_relation_dbt_creates_has_a_name_postgres_can_hold():
    """Fast, and without a server: the first thing that breaks a build on Postgres."""
    names = dbt_relation_names()
    too_long = [
        f"{name} ({len(name.encode())} bytes, {where})"
        for name, where in names.items()
        if len(name.encode()) > POSTGRES_MAX_IDENTIFIER
    ]
    assert any(where.startswith("models/") for where in names.values())
    assert not too_long, (
        f"names longer than Postgres's {POSTGRES_MAX_IDENTIFIER} bytes:\n" + "\n".join(too_long)
    )


def connect(server: PostgresConnection):
    return psycopg2.connect(
        host=server.host,
        port=server.port,
        user=server.user,
        password=server.password,
        dbname=server.database,
        connect_timeout=5,
    )


@pytest.fixture
def postgres_database() -> Iterator[PostgresConnection]:
    """A fresh database on the server, in UTC like the DuckDB warehouse, dropped afterwards."""
    server = load_settings().postgres
    try:
        admin = connect(server)
    except psycopg2.OperationalError as error:
        reason = f"no PostgreSQL server on {server.host}:{server.port}: {str(error).strip()}"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (.ci/run should have started one)")
        pytest.skip(reason)
    admin.autocommit = True
    name = f"psa_test_{uuid.uuid4().hex[:12]}"
    with admin.cursor() as cursor:
        cursor.execute(f'create database "{name}"')
        cursor.execute(f"alter database \"{name}\" set timezone to 'UTC'")
    try:
        yield replace(server, database=name)
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'drop database if exists "{name}" with (force)')
        admin.close()


def land(settings: Settings) -> None:
    with dg.DagsterInstance.ephemeral() as instance:
        resources = build_definitions(settings).resources
        assert dg.materialize(ingest_assets, resources=resources, instance=instance).success


def start_dbt_build(settings: Settings, out: Path) -> subprocess.Popen:
    """`dbt build` of the whole project into the settings' warehouse, as the pipeline points
    dbt at it (target and vars from the Warehouse resource), writing its artifacts to `out`."""
    warehouse = Warehouse.from_settings(settings)
    out.mkdir(parents=True, exist_ok=True)
    # dbt's own variables from the developer's shell must not steer the build
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DBT_", "PSA_POSTGRES_"))}
    env["PSA_POSTGRES_PASSWORD"] = settings.postgres.password
    command = [
        dbt_executable(),
        "build",
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target",
        warehouse.dbt_target,
        "--vars",
        json.dumps(warehouse.dbt_vars()),
        "--target-path",
        str(out / "target"),
        "--log-path",
        str(out / "logs"),
    ]
    log = (out / "dbt.out").open("w")
    return subprocess.Popen(command, cwd=DBT_PROJECT_DIR, env=env, stdout=log, stderr=log)


def build_results(out: Path) -> tuple[dict[str, tuple[str, str]], list[tuple[str, str]]]:
    """Each node's (status, message) from the build, and the (schema, name) of each model."""
    results = json.loads((out / "target/run_results.json").read_text())["results"]
    nodes = json.loads((out / "target/manifest.json").read_text())["nodes"]
    statuses = {r["unique_id"]: (r["status"], r["message"] or "") for r in results}
    relations = [
        (node["schema"], node["alias"])
        for node in nodes.values()
        if node["resource_type"] in ("model", "snapshot", "seed")
        and node["config"]["materialized"] != "ephemeral"
    ]
    return statuses, sorted(relations)


def failures(statuses: dict[str, tuple[str, str]]) -> str:
    """The nodes that errored or failed, with dbt's message, and a count of those skipped."""
    failed = [
        f"{node}: {status}: {message}"
        for node, (status, message) in sorted(statuses.items())
        if status not in ("success", "pass", "skipped")
        and not node.startswith("exposure.")  # the dashboard's pages: dbt builds nothing for them
    ]
    skipped = sum(status == "skipped" for status, _ in statuses.values())
    if skipped:
        failed.append(f"({skipped} nodes skipped)")
    return "\n".join(failed)


def kind(data_type: str) -> str:
    data_type = data_type.lower()
    if data_type.startswith(("decimal", "numeric", "int", "bigint", "smallint", "hugeint")):
        return "exact"
    if data_type.startswith(("double", "float", "real")):
        return "float"
    if data_type.startswith("bool"):
        return "boolean"
    if data_type == "date":
        return "date"
    if data_type.startswith("timestamp"):
        return "timestamp"
    if data_type.startswith(("varchar", "character varying", "text")):
        return "text"
    return data_type


def columns(cursor, schema: str, table: str) -> dict[str, str]:
    cursor.execute(
        "select column_name, data_type from information_schema.columns "
        f"where table_schema = '{schema}' and table_name = '{table}' order by ordinal_position"
    )
    return {name: kind(data_type) for name, data_type in cursor.fetchall()}


def aggregates(column: str, column_kind: str) -> list[str]:
    quoted = f'"{column}"'
    if column.startswith(VOLATILE_PREFIXES):
        return [f"count({quoted})"]
    if column_kind in ("exact", "float"):
        return [f"sum({quoted})"]
    if column_kind == "boolean":
        return [f"sum(case when {quoted} then 1 else 0 end)"]
    if column_kind in ("date", "timestamp"):
        return [f"min({quoted})", f"max({quoted})", f"count({quoted})"]
    if column_kind == "text":
        return [f"count(distinct {quoted})"]
    return [f"count({quoted})"]


def fingerprint(cursor, schema: str, table: str) -> dict[str, object]:
    """What a table holds, by column: types, row count, sums, true counts, date ranges and
    distinct texts; the same on both warehouses when the models are portable."""
    found = columns(cursor, schema, table)
    assert found, f"{schema}.{table} does not exist"
    named = [("rows", "count(*)")] + [
        (f"{column} {agg.split('(')[0]}", agg)
        for column, column_kind in found.items()
        for agg in aggregates(column, column_kind)
    ]
    cursor.execute(f'select {", ".join(agg for _, agg in named)} from "{schema}"."{table}"')
    values = cursor.fetchone()
    return {"types": found} | {name: value for (name, _), value in zip(named, values, strict=True)}


def raw_tables(cursor) -> list[tuple[str, str]]:
    cursor.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_schema like 'raw%' and table_schema not like '%staging' "
        "and table_name not like '\\_dlt%' escape '\\'"
    )
    return sorted(cursor.fetchall())


def warehouse_fingerprints(cursor, relations) -> dict[tuple[str, str], dict]:
    return {relation: fingerprint(cursor, *relation) for relation in relations}


def differences(duck: dict, pg: dict) -> list[str]:
    found = []
    for relation in sorted(duck.keys() | pg.keys()):
        a, b = duck.get(relation, {}), pg.get(relation, {})
        for key in sorted(a.keys() | b.keys()):
            x, y = a.get(key), b.get(key)
            if isinstance(x, float) or isinstance(y, float):
                same = (
                    x is not None
                    and y is not None
                    and math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-6)
                )
            else:
                same = x == y
            if not same:
                found.append(f"{'.'.join(relation)} {key}: duckdb {x!r} != postgres {y!r}")
    return found


@pytest.mark.slow
def test_the_whole_dbt_build_runs_on_postgres_with_the_numbers_of_duckdb(
    tmp_path, postgres_database, monkeypatch
):
    server = start_sandbox(tmp_path / "sandbox")
    try:
        on_duckdb = settings_for(server, tmp_path / "duckdb")
        on_postgres = replace(
            settings_for(server, tmp_path / "postgres"),
            warehouse="postgres",
            postgres=postgres_database,
        )
        land(on_duckdb)
        land(on_postgres)
    finally:
        server.stop()

    builds = {
        s.warehouse: start_dbt_build(s, tmp_path / f"dbt-{s.warehouse}")
        for s in (on_duckdb, on_postgres)
    }
    for build in builds.values():
        build.wait(timeout=900)
    statuses, relations = {}, {}
    for name in builds:
        out = tmp_path / f"dbt-{name}"
        assert (out / "target/run_results.json").exists(), (out / "dbt.out").read_text()[-3000:]
        statuses[name], relations[name] = build_results(out)

    on_postgres_failed = failures(statuses["postgres"])
    on_duckdb_failed = failures(statuses["duckdb"])
    assert not on_postgres_failed, f"dbt build on Postgres:\n{on_postgres_failed}"
    assert not on_duckdb_failed, f"dbt build on DuckDB:\n{on_duckdb_failed}"
    assert statuses["postgres"].keys() == statuses["duckdb"].keys()
    assert relations["postgres"] == relations["duckdb"]
    assert relations["postgres"], "the dbt project built no model"

    with duckdb.connect(str(on_duckdb.warehouse_path), read_only=True) as duck:
        duck_cursor = duck.cursor()
        raw = raw_tables(duck_cursor)
        duck_prints = warehouse_fingerprints(duck_cursor, raw + relations["duckdb"])
    with closing(connect(on_postgres.postgres)) as pg, pg.cursor() as pg_cursor:
        assert raw_tables(pg_cursor) == raw
        pg_prints = warehouse_fingerprints(pg_cursor, raw + relations["postgres"])
    assert len(raw) >= 25, raw  # all five systems landed
    with Warehouse.from_settings(on_postgres).read_only() as reader:  # the checks' frames
        for schema, table in relations["postgres"]:
            frame = reader.execute(f'select * from "{schema}"."{table}"').df()
            assert len(frame) == pg_prints[(schema, table)]["rows"], (schema, table)
    differ = "\n".join(differences(duck_prints, pg_prints))
    assert not differ, f"DuckDB and Postgres hold different data:\n{differ}"

    # the dashboard reads the marts on Postgres itself: the publication holds its facts alone
    published = {}
    for settings in (on_duckdb, on_postgres):
        publish(Warehouse.from_settings(settings), settings.published_path, "run", [], {})
        with duckdb.connect(str(settings.published_path), read_only=True) as conn:
            published[settings.warehouse] = (
                conn.execute(
                    "select as_of_on, reporting_currency from publication.info"
                ).fetchall(),
                conn.execute("select * from publication.fx_rates order by all").fetchall(),
                conn.execute(
                    "select distinct table_schema from information_schema.tables order by 1"
                ).fetchall(),
            )
    assert published["postgres"][:2] == published["duckdb"][:2] and published["duckdb"][1]
    assert published["postgres"][2] == [("publication",)]
    assert ("marts",) in published["duckdb"][2]

    # and every page shows, from Postgres, the figures it shows from DuckDB's copy
    shown = {s.warehouse: pages_shown(s, monkeypatch) for s in (on_duckdb, on_postgres)}
    assert shown["postgres"] == shown["duckdb"]
    assert sum(len(figures) for figures in shown["duckdb"].values()) >= 20


def pages_shown(settings: Settings, monkeypatch) -> dict[str, dict[str, str]]:
    """Each dashboard page rendered by AppTest on this warehouse: its headline figures."""
    monkeypatch.setenv("PSA_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("PSA_WAREHOUSE", settings.warehouse)
    monkeypatch.setenv("PSA_POSTGRES_DATABASE", settings.postgres.database)
    shown = {}
    for page in ORDER:
        app = AppTest.from_file(str(DASHBOARD_APP), default_timeout=120).run()
        if page != "overview":
            app.switch_page(f"views/{page}.py").run()
        assert not app.exception, (settings.warehouse, page, [e.value for e in app.exception])
        shown[page] = {metric.label: metric.value for metric in app.metric}
    return shown
