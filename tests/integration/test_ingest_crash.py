"""Every source record lands exactly once when the ingest process is killed at a commit point.

A dlt run makes its work durable in steps, and a process can die between any two of them. Each
case starts a child process that runs the ingest as the product does (`dg.materialize` of the
dlt assets with the product's resources) with one hook on dlt's own code that SIGKILLs the
process at one commit point: no `finally`, no atexit, no flush, nothing else replaced. The test
checks that the hook fired, looks at what the kill left behind (the load package on disk, the
rows in the warehouse, `_dlt_loads`, Dagster's records), runs the ingest again in-process and
checks every raw table against the sandbox's own records, then runs it once more to see that
the recovered cursor asks only for changes.

Why a re-run is safe whatever the kill left: dagster-dlt drops the pipeline's local state
(pending packages included) at the start of every run and restores it from the warehouse, where
a load counts only once its `_dlt_loads` row is written (dlt joins `_dlt_pipeline_state` to
`_dlt_loads`). So the re-run extracts again from the cursor of the last recorded load, and the
raw tables merge on primary keys, so rows the killed run already committed are replaced, not
repeated.

Run as a module (`python -m tests.integration.test_ingest_crash ...`) this file is the child.
"""

from __future__ import annotations

import functools
import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dlt.common.schema.utils import get_write_disposition
from dlt.common.storages.load_package import PackageStorage, ParsedLoadJobFileName
from dlt.common.storages.load_storage import LoadStorage
from dlt.extract.extract import Extract
from dlt.load.load import Load
from dlt.pipeline.pipeline import Pipeline

from psa_pipeline.definitions import build_definitions
from psa_pipeline.ingest.assets import ingest_assets
from psa_pipeline.sandbox.truth import MALFORMATIONS
from psa_pipeline.settings import PROJECT_ROOT, SYSTEMS, Settings
from tests.helpers import corrupted, settings_for, start_sandbox, truth
from tests.integration.test_ingest import (
    KEYS,
    RAW_TO_STORE,
    asked_when_nothing_changed,
    materialize,
    request_counts,
    store_count,
)

pytestmark = pytest.mark.slow

KILLED_AT = "killed at"
NOT_KILLED = 3  # the child's exit code when the ingest ended without reaching the kill


# -- the child: the product's ingest, killed at one commit point ------------------------------


def die(point: str, system: str) -> None:
    sys.stderr.write(f"{KILLED_AT} {point} in psa_{system}\n")
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def kill_after_extract(armed: threading.Event, system: str) -> None:
    """`Extract.commit_packages` moves the extracted package into `normalize/extracted`."""
    commit = Extract.commit_packages

    def commit_then_die(self, *args, **kwargs):
        commit(self, *args, **kwargs)
        if armed.is_set():
            die("extracted", system)

    Extract.commit_packages = commit_then_die


def kill_after_normalize(armed: threading.Event, system: str) -> None:
    """`Normalize.spool_files` commits its package by renaming it into `load/normalized`
    (`LoadStorage.commit_new_load_package`) and only then deletes the extracted files."""
    commit = LoadStorage.commit_new_load_package

    def commit_then_die(self, *args, **kwargs):
        commit(self, *args, **kwargs)
        if armed.is_set():
            die("normalized", system)

    LoadStorage.commit_new_load_package = commit_then_die


def merges_into_raw_table(package: PackageStorage, load_id: str, file_name: str) -> bool:
    """Whether the job writes a table of the dataset itself: a merge job (SQL run after the
    table's files are in the staging dataset) or a file of a table that is not merged."""
    job = ParsedLoadJobFileName.parse(file_name)
    if job.file_format == "sql":
        return True
    schema = package.load_schema(load_id)
    return get_write_disposition(schema.tables, job.table_name) != "merge"


def kill_after_first_merge(armed: threading.Event, system: str) -> None:
    """A loader thread runs a job in its own transaction; once that commits it writes the job's
    completion marker (`PackageStorage.save_pending_transition`). The first merge job to get
    there has committed one raw table; the kill comes before its marker."""
    save = PackageStorage.save_pending_transition

    def die_at_first_merge(self, load_id, file_name, state, *args, **kwargs):
        if armed.is_set() and state == "completed" and file_name.endswith(".sql"):
            die("one_table_merged", system)
        return save(self, load_id, file_name, state, *args, **kwargs)

    PackageStorage.save_pending_transition = die_at_first_merge


def kill_after_every_table_committed(armed: threading.Event, system: str) -> None:
    """Each job that commits into a raw table (the merges, and the `_dlt_pipeline_state` row
    with the new cursor) waits in its loader thread before writing its completion marker. When
    nothing is left to start and every started job is one of those waiting, every table holds
    the load and none of dlt's bookkeeping for it exists: kill."""
    save = PackageStorage.save_pending_transition
    waiting: set[str] = set()
    lock = threading.Lock()

    def nothing_else_to_run(package: PackageStorage, load_id: str) -> bool:
        started = {Path(job).name for job in package.list_started_jobs(load_id)}
        with lock:
            return not package.list_new_jobs(load_id) and started <= waiting

    def wait_then_die(self, load_id, file_name, state, *args, **kwargs):
        if not (
            armed.is_set()
            and state == "completed"
            and merges_into_raw_table(self, load_id, file_name)
        ):
            return save(self, load_id, file_name, state, *args, **kwargs)
        with lock:
            waiting.add(file_name)
        # dlt files a merge job into new_jobs before it moves the staging job out of
        # started_jobs, but two folder listings are not one atomic read: half a second of
        # agreeing listings rules out catching a job between folders
        quiet_since, give_up = None, time.monotonic() + 120
        while time.monotonic() < give_up:
            time.sleep(0.05)
            if not nothing_else_to_run(self, load_id):
                quiet_since = None
            elif quiet_since is None:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since > 0.5:
                die("all_tables_committed", system)
        # more tables than loader threads: the waiting jobs hold every thread
        sys.stderr.write(f"not killed: all_tables_committed never reached, {waiting=}\n")
        os._exit(NOT_KILLED)

    PackageStorage.save_pending_transition = wait_then_die


def kill_before_load_is_recorded(armed: threading.Event, system: str) -> None:
    """`Load.complete_package` writes the `_dlt_loads` row (`complete_load`) once every job of
    the package is marked completed, then moves the package to `load/loaded`."""
    complete = Load.complete_package

    def die_then_complete(self, load_id, schema, aborted=False):
        if armed.is_set() and not aborted:
            die("jobs_completed", system)
        return complete(self, load_id, schema, aborted)

    Load.complete_package = die_then_complete


# in the order a run passes them; the first five are within `Pipeline.run`
COMMIT_POINTS: dict[str, Callable[[threading.Event, str], None] | None] = {
    "extracted": kill_after_extract,
    "normalized": kill_after_normalize,
    "one_table_merged": kill_after_first_merge,
    "all_tables_committed": kill_after_every_table_committed,
    "jobs_completed": kill_before_load_is_recorded,
    "load_recorded": None,  # `Pipeline.run` returned; Dagster has recorded nothing yet
}


def install_kill(point: str, system: str) -> None:
    """Arm the hook only while the pipeline of `system` runs (the others run untouched)."""
    armed = threading.Event()
    run = Pipeline.run

    @functools.wraps(run)
    def run_armed(self, *args, **kwargs):
        if self.pipeline_name != f"psa_{system}":
            return run(self, *args, **kwargs)
        armed.set()
        info = run(self, *args, **kwargs)
        if point == "load_recorded":
            die(point, system)
        armed.clear()
        return info

    Pipeline.run = run_armed
    if hook := COMMIT_POINTS[point]:
        hook(armed, system)


def child(point: str, system: str, sandbox_url: str, data_dir: str, dagster_dir: str, *systems):
    settings = Settings(data_dir=Path(data_dir)).with_sandbox(sandbox_url)
    install_kill(point, system)
    dg.materialize(
        [a for a in ingest_assets if a.op.name.removeprefix("ingest_") in systems],
        resources=build_definitions(settings).resources,
        instance=dg.DagsterInstance.local_temp(tempdir=dagster_dir),
        raise_on_error=False,
    )
    sys.exit(NOT_KILLED)


# -- the parent: what the kill left, and the re-run ----------------------------------------------


@dataclass(frozen=True)
class Case:
    point: str
    target: str  # the system whose pipeline is killed
    systems: tuple[str, ...] = ("harvest", "netsuite")

    def __str__(self) -> str:
        return f"{self.point}-{self.target}-of-{len(self.systems)}"


CASES = [
    Case("extracted", "harvest"),
    Case("normalized", "harvest"),
    Case("one_table_merged", "harvest"),
    Case("all_tables_committed", "harvest"),
    # steps run in key order, so the child loads the other four systems before netsuite
    Case("all_tables_committed", "netsuite", SYSTEMS),
    Case("jobs_completed", "netsuite"),
    Case("load_recorded", "harvest"),
]


@pytest.fixture
def firm(tmp_path):
    """The small firm with one record of each malformation, so quarantine has rows too."""
    server = start_sandbox(tmp_path / "sandbox", corrupted(malformed_records=len(MALFORMATIONS)))
    yield server
    server.stop()


def run_child(case: Case, server, settings: Settings, dagster_dir: Path) -> None:
    args = [case.point, case.target, server.url, str(settings.data_dir), str(dagster_dir)]
    done = subprocess.run(
        [sys.executable, "-m", "tests.integration.test_ingest_crash", *args, *case.systems],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr[-3000:]
    assert f"{KILLED_AT} {case.point} in psa_{case.target}\n" in done.stderr


def raw_tables(system: str) -> list[str]:
    return [raw for raw in RAW_TO_STORE if raw.startswith(f"raw_{system}.")]


def quarantined(server) -> dict[str, set[str]]:
    """The records the sandbox broke, by the raw table they would land in."""
    broken: dict[str, set[str]] = {}
    for defect in truth(server, "malformed_record"):
        for endpoint, ids in defect["records"].items():
            system, resource = endpoint.split("/")
            broken.setdefault(f"raw_{system}.{resource}", set()).update(ids)
    return broken


def tables_in(conn, schema: str) -> set[str]:
    return {
        name
        for (name,) in conn.execute(
            "select table_name from information_schema.tables where table_schema = ?", [schema]
        ).fetchall()
    }


def assert_each_record_landed_once(settings, server, systems) -> None:
    """Every raw table: rows == distinct keys == the sandbox's records, less the broken ones,
    which are in the system's quarantine table, each once."""
    broken = quarantined(server)
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        for system in systems:
            for raw in raw_tables(system):
                rows, keys = conn.execute(
                    f"select count(*), count(distinct {KEYS[raw]}) from {raw}"
                ).fetchone()
                expected = store_count(server, RAW_TO_STORE[raw]) - len(broken.get(raw, ()))
                assert rows == keys == expected, raw
            if "quarantine" not in tables_in(conn, f"raw_{system}"):
                assert not any(raw.startswith(f"raw_{system}.") for raw in broken), system
                continue
            rows, ids = conn.execute(
                f"select count(*), count(distinct quarantine_id) from raw_{system}.quarantine"
            ).fetchone()
            kept = {
                (f"raw_{system}.{resource}", key)
                for resource, key in conn.execute(
                    f"select resource, record_key from raw_{system}.quarantine"
                ).fetchall()
            }
            assert rows == ids == len(kept), system
            assert kept == {
                (raw, key)
                for raw, keys in broken.items()
                if raw.startswith(f"raw_{system}.")
                for key in keys
            }, system


def assert_every_row_from_a_recorded_load(settings, systems) -> None:
    """No row of a load that never got its `_dlt_loads` row survives the re-run."""
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        for system in systems:
            for table in (*(raw.split(".")[1] for raw in raw_tables(system)), "quarantine"):
                if table not in tables_in(conn, f"raw_{system}"):
                    continue
                orphans = conn.execute(
                    f"select count(*) from raw_{system}.{table} where _dlt_load_id not in "
                    f"(select load_id from raw_{system}._dlt_loads where status = 0)"
                ).fetchone()[0]
                assert orphans == 0, f"raw_{system}.{table}"


def assert_asked_from_the_start(system: str, server, log: list[dict]) -> None:
    """The run paged through everything: it did not trust the killed run's cursor."""
    if system == "harvest":
        pages = math.ceil(store_count(server, "harvest_time_entries") / 2000)
        asked = sum(e["path"] == "/harvest/v2/time_entries" for e in log)
        assert asked == pages > 1
    elif system == "netsuite":
        line_pages = math.ceil(store_count(server, "netsuite_transactionline") / 1000)
        asked = sum("uniquekey > " in e["body"] for e in log if e["path"].endswith("/suiteql"))
        assert asked == line_pages - 1 > 0
    else:
        raise NotImplementedError(f"no full-load signature for {system}")


def assert_asked_only_for_changes(system: str, server, log: list[dict]) -> None:
    """Nothing changed in the sandbox, so each incremental query fits in one page."""
    of_system = [e for e in log if e["path"].startswith(f"/{system}/")]
    expected = {
        path: count
        for path, count in asked_when_nothing_changed(server).items()
        if path.startswith(f"/{system}/")
    }
    assert request_counts(of_system) == expected, system


JOB_FOLDERS = ("new_jobs", "started_jobs", "completed_jobs", "failed_jobs")


def only_updates_dlt_state(package: Path) -> bool:
    """A package of dlt's own tables alone: dlt extracts the pipeline state again, into a
    package of its own, when the state changed after the run's package was committed (it did
    once in CI). Such a package carries no source record, so what a kill left is the rest."""
    tables = {
        ParsedLoadJobFileName.parse(job.name).table_name
        for folder in JOB_FOLDERS
        if (package / folder).is_dir()
        for job in (package / folder).iterdir()
        if job.is_file()
    }
    return bool(tables) and all(table.startswith("_dlt_") for table in tables)


@dataclass
class LeftBehind:
    """What a killed run of one system left on disk and in the warehouse."""

    extracted: list[str]  # load ids of packages in each dlt folder
    normalized: list[str]
    loaded: list[str]
    recorded_loads: set[str]  # `_dlt_loads` rows of the system
    state_loads: set[str]  # loads with a `_dlt_pipeline_state` row
    tables: set[str]
    rows_by_load: dict[str, dict[str, int]]  # raw table -> load id -> rows

    @classmethod
    def of(cls, settings: Settings, system: str) -> LeftBehind:
        pipeline = settings.dlt_pipelines_dir / f"psa_{system}"

        def packages(folder: str) -> list[str]:
            """Load packages are folders. A kill can also leave an empty file beside them:
            dlt writes a package's state through a temporary file at the folder's top
            (`FileStorage.save_atomic`), and another loader thread may be inside that write."""
            path = pipeline / folder
            found = sorted(p for p in path.iterdir() if p.is_dir()) if path.exists() else []
            return [p.name for p in found if not only_updates_dlt_state(p)]

        def load_ids(conn, table: str, column: str) -> set[str]:
            if table not in tables:
                return set()
            query = f"select {column} from raw_{system}.{table}"
            return {i for (i,) in conn.execute(query).fetchall()}

        tables: set[str] = set()
        rows_by_load: dict[str, dict[str, int]] = {}
        recorded: set[str] = set()
        state: set[str] = set()
        if settings.warehouse_path.exists():
            with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
                tables = tables_in(conn, f"raw_{system}")
                recorded = load_ids(conn, "_dlt_loads", "load_id")
                state = load_ids(conn, "_dlt_pipeline_state", "_dlt_load_id")
                for raw in raw_tables(system):
                    if raw.split(".")[1] in tables:
                        rows_by_load[raw] = dict(
                            conn.execute(
                                f"select _dlt_load_id, count(*) from {raw} group by 1"
                            ).fetchall()
                        )
        return cls(
            extracted=packages("normalize/extracted"),
            normalized=packages("load/normalized"),
            loaded=packages("load/loaded"),
            recorded_loads=recorded,
            state_loads=state,
            tables=tables,
            rows_by_load=rows_by_load,
        )

    def jobs(self, settings: Settings, system: str, folder: str) -> list[str]:
        (load_id,) = self.normalized
        path = settings.dlt_pipelines_dir / f"psa_{system}/load/normalized" / load_id / folder
        return sorted(p.name for p in path.iterdir()) if path.exists() else []


def materialised(instance: dg.DagsterInstance, system: str) -> bool:
    keys = [
        key for asset in ingest_assets if asset.op.name == f"ingest_{system}" for key in asset.keys
    ]
    latest = [instance.get_latest_materialization_event(key) for key in keys]
    assert all(latest) or not any(latest), system
    return all(latest)


def assert_left_behind(case: Case, settings: Settings, server) -> LeftBehind:
    """What the kill at `case.point` left, as dlt's protocol says it should be."""
    left = LeftBehind.of(settings, case.target)
    raw = raw_tables(case.target)
    if case.point == "extracted":
        assert len(left.extracted) == 1 and not left.normalized and not left.loaded
        assert not left.tables & {r.split(".")[1] for r in raw}
    elif case.point == "normalized":
        # the normalized package is committed; the extracted copy is not deleted yet
        assert left.normalized == left.extracted and len(left.normalized) == 1
        assert left.jobs(settings, case.target, "new_jobs") and not left.loaded
        assert not left.tables & {r.split(".")[1] for r in raw}
    elif case.point == "one_table_merged":
        (load_id,) = left.normalized
        holding = [r for r in raw if left.rows_by_load.get(r, {}).get(load_id)]
        assert 0 < len(holding) < len(raw), holding
        assert load_id not in left.recorded_loads
        assert any(job.endswith(".sql") for job in left.jobs(settings, case.target, "started_jobs"))
    elif case.point in ("all_tables_committed", "jobs_completed"):
        (load_id,) = left.normalized
        # every record is in already, once, with the new cursor beside it...
        assert_each_record_landed_once(settings, server, [case.target])
        assert load_id in left.state_loads
        # ...but the load is not recorded, so a re-run will not trust that cursor
        assert load_id not in left.recorded_loads and not left.loaded
        started = left.jobs(settings, case.target, "started_jobs")
        if case.point == "all_tables_committed":
            assert started and not left.jobs(settings, case.target, ".pending_transitions")
            assert any(job.endswith(".sql") for job in started)
        else:
            assert not started and left.jobs(settings, case.target, "completed_jobs")
    elif case.point == "load_recorded":
        (load_id,) = left.loaded
        assert not left.normalized and load_id in left.recorded_loads
        assert_each_record_landed_once(settings, server, [case.target])
    return left


@pytest.mark.parametrize("case", CASES, ids=str)
def test_every_record_lands_once_after_a_kill_at_a_commit_point(case, firm, tmp_path):
    settings = settings_for(firm, tmp_path / "data")
    dagster_dir = tmp_path / "dagster"
    dagster_dir.mkdir()
    run_child(case, firm, settings, dagster_dir)
    left = assert_left_behind(case, settings, firm)
    assets = [a for a in ingest_assets if a.op.name.removeprefix("ingest_") in case.systems]

    with dg.DagsterInstance.local_temp(tempdir=str(dagster_dir)) as instance:
        assert not materialised(instance, case.target)
        done_before = [s for s in case.systems if materialised(instance, s)]
        recovery = materialize(firm, settings, instance, assets)
        assert all(materialised(instance, system) for system in case.systems)

    assert_each_record_landed_once(settings, firm, case.systems)
    assert_every_row_from_a_recorded_load(settings, case.systems)
    for system in done_before:  # loaded in full by the child before the kill
        assert_asked_only_for_changes(system, firm, recovery)
    if case.point == "load_recorded":
        # the killed run's load is recorded, and with it the cursor: only changes are asked
        assert_asked_only_for_changes(case.target, firm, recovery)
        assert set(left.loaded) <= LeftBehind.of(settings, case.target).recorded_loads
    else:
        assert_asked_from_the_start(case.target, firm, recovery)

    # the recovery recorded its cursor: the next run asks only for what changed
    with dg.DagsterInstance.local_temp(tempdir=str(dagster_dir)) as instance:
        follow_up = materialize(firm, settings, instance, assets)
    for system in case.systems:
        assert_asked_only_for_changes(system, firm, follow_up)
    assert_each_record_landed_once(settings, firm, case.systems)
    assert_every_row_from_a_recorded_load(settings, case.systems)


if __name__ == "__main__":
    child(*sys.argv[1:])
