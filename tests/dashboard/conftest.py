"""One small sandbox firm, built and published once for the dashboard's tests.

The whole pipeline runs in process against the sandbox over HTTP (as tests/e2e does): ingest,
dbt, the checks, the ERP sync (so the ledger has states) and the publication after it. Tests
that change the publication (a held-back refresh, a warned check) work on a copy.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from psa_pipeline.definitions import ASSET_CHECKS, ASSETS, build_definitions
from psa_pipeline.settings import Settings
from tests.helpers import settings_for, start_sandbox

APP = Path(__file__).resolve().parents[2] / "psa_pipeline" / "dashboard" / "app.py"


@dataclass(frozen=True)
class Published:
    """A data directory holding a publication (PSA_DATA_DIR points the app at it)."""

    data_dir: Path

    @property
    def path(self) -> Path:
        return self.data_dir / "published" / "dashboard.duckdb"

    def query(self, sql: str, params=()) -> list[tuple]:
        with duckdb.connect(str(self.path), read_only=True) as conn:
            return conn.execute(sql, list(params)).fetchall()

    def scalar(self, sql: str, params=()):
        return self.query(sql, params)[0][0]

    def copy(self, directory: Path) -> Published:
        target = directory / "published"
        target.mkdir(parents=True)
        shutil.copyfile(self.path, target / self.path.name)
        return Published(directory)

    def write(self, sql: str) -> None:
        with duckdb.connect(str(self.path)) as conn:
            conn.execute(sql)


@pytest.fixture(scope="session")
def firm(tmp_path_factory) -> Iterator[Published]:
    tmp = tmp_path_factory.mktemp("dashboard-firm")
    server = start_sandbox(tmp / "sandbox")
    settings: Settings = settings_for(server, tmp / "data")
    try:
        with dg.instance_for_test() as instance:
            result = dg.materialize(
                [*ASSETS, *ASSET_CHECKS],
                resources=build_definitions(settings).resources,
                instance=instance,
            )
        assert result.success
    finally:
        server.stop()
    # only the publication: the app must need nothing else in the data directory
    yield Published(tmp / "data").copy(tmp / "dashboard")


@pytest.fixture
def dashboard_env(monkeypatch):
    """Point the app at a data directory (the environment it reads, as `make dashboard` does)."""

    def point(published: Published | Path, **extra: str) -> None:
        data_dir = published.data_dir if isinstance(published, Published) else published
        monkeypatch.setenv("PSA_DATA_DIR", str(data_dir))
        monkeypatch.setenv("PSA_WAREHOUSE", "duckdb")
        for name, value in extra.items():
            monkeypatch.setenv(name, value)

    return point
