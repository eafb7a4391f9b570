"""The dbt project as a whole, on a built small firm: its unit tests pass, `dbt docs generate`
succeeds, and every model and every column of the marts says what it is.

The product's materialisations leave unit tests out (they check SQL, not data), so this is
where they run. Unit tests read the columns of the relations they stand in for, so they run
after a build, on the same warehouse.
"""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pytest

from tests.helpers import dbt, settings_for, start_sandbox
from tests.integration.test_ingest import materialize

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Path]:
    """A small firm ingested and built (models and data tests); returns (work dir, warehouse)."""
    work = tmp_path_factory.mktemp("dbt-project")
    server = start_sandbox(work / "sandbox")
    try:
        settings = settings_for(server, work / "data")
        with dg.DagsterInstance.ephemeral() as instance:
            materialize(server, settings, instance)
    finally:
        server.stop()
    dbt("build", work, settings.warehouse_path, "--exclude-resource-type", "unit_test")
    return work, settings.warehouse_path


def test_every_dbt_unit_test_passes(built):
    work, warehouse = built
    output = dbt("test", work, warehouse, "--select", "test_type:unit")
    results = json.loads((work / "target" / "run_results.json").read_text())["results"]
    assert len(results) >= 30, output[-3000:]
    assert {r["status"] for r in results} == {"pass"}


def test_docs_generate_and_every_mart_model_and_column_is_described(built):
    work, warehouse = built
    dbt("docs generate", work, warehouse)
    manifest = json.loads((work / "target" / "manifest.json").read_text())
    catalog = json.loads((work / "target" / "catalog.json").read_text())
    marts = {
        unique_id: node
        for unique_id, node in manifest["nodes"].items()
        if node["resource_type"] == "model" and node["fqn"][1] == "marts"
    }
    assert len(marts) >= 15
    undocumented = []
    for unique_id, node in marts.items():
        if not node["description"].strip():
            undocumented.append(node["name"])
        described = {
            name.lower() for name, column in node["columns"].items() if column["description"]
        }
        built_columns = {name.lower() for name in catalog["nodes"][unique_id]["columns"]}
        undocumented += [f"{node['name']}.{c}" for c in sorted(built_columns - described)]
    assert undocumented == []
