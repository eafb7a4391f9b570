"""Pin the asset graph: a renamed key or a broken lineage edge is a visible change here."""

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from psa_pipeline.definitions import build_definitions
from psa_pipeline.settings import PROJECT_ROOT, load_settings

EXPECTED_ASSETS = {
    "raw/hubspot/deals": "hubspot",
    "raw/hubspot/companies": "hubspot",
    "raw/hubspot/line_items": "hubspot",
    "raw/hubspot/p_contracts": "hubspot",
    "raw/hubspot/deal_companies": "hubspot",
    "raw/kantata/workspaces": "kantata",
    "raw/kantata/stories": "kantata",
    "raw/kantata/assignments": "kantata",
    "raw/kantata/rate_cards": "kantata",
    "raw/kantata/users": "kantata",
    "raw/harvest/time_entries": "harvest",
    "raw/harvest/expenses": "harvest",
    "raw/harvest/users": "harvest",
    "raw/harvest/clients": "harvest",
    "raw/harvest/projects": "harvest",
    "raw/harvest/tasks": "harvest",
    "raw/bamboohr/employees": "bamboohr",
    "raw/bamboohr/compensation": "bamboohr",
    "raw/bamboohr/time_off": "bamboohr",
    "raw/netsuite/invoices": "netsuite",
    "raw/netsuite/invoice_lines": "netsuite",
    "raw/netsuite/subsidiaries": "netsuite",
    "raw/netsuite/customers": "netsuite",
    "raw/netsuite/jobs": "netsuite",
    "raw/netsuite/credit_memos": "netsuite",
    "raw/netsuite/payments": "netsuite",
    "raw/netsuite/transaction_links": "netsuite",
    "raw/netsuite/currency_rates": "netsuite",
    "stg_hubspot__deals": "staging_hubspot",
    "stg_harvest__time_entries": "staging_harvest",
    "stg_netsuite__invoices": "staging_netsuite",
    "stg_netsuite__invoice_lines": "staging_netsuite",
    "billing_corrections": "marts_finance",
    "project_margin": "marts_finance",
    "erp_sync_invoices": "reverse_sync",
}
# dlt -> dbt source/staging -> mart -> sync, one connected graph
EXPECTED_EDGES = {
    ("raw/hubspot/deals", "stg_hubspot__deals"),
    ("raw/harvest/time_entries", "stg_harvest__time_entries"),
    ("raw/netsuite/invoices", "stg_netsuite__invoices"),
    ("raw/netsuite/invoice_lines", "stg_netsuite__invoice_lines"),
    ("raw/netsuite/invoices", "stg_netsuite__invoice_lines"),  # lines of invoices, not credit memos
    ("stg_harvest__time_entries", "billing_corrections"),
    ("stg_netsuite__invoices", "billing_corrections"),
    ("stg_netsuite__invoice_lines", "billing_corrections"),
    ("stg_hubspot__deals", "project_margin"),
    ("stg_harvest__time_entries", "project_margin"),
    ("stg_netsuite__invoices", "project_margin"),
    ("stg_netsuite__invoice_lines", "project_margin"),
    ("billing_corrections", "erp_sync_invoices"),
}


@pytest.fixture(scope="module")
def asset_graph(tmp_path_factory):
    settings = load_settings({"PSA_DATA_DIR": str(tmp_path_factory.mktemp("data"))})
    return build_definitions(settings).resolve_asset_graph()


def test_asset_keys_and_groups_are_pinned(asset_graph):
    actual = {
        key.to_user_string(): asset_graph.get(key).group_name
        for key in asset_graph.get_all_asset_keys()
    }
    assert actual == EXPECTED_ASSETS


def test_lineage_runs_from_each_api_resource_to_the_sync(asset_graph):
    edges = {
        (parent.to_user_string(), key.to_user_string())
        for key in asset_graph.get_all_asset_keys()
        for parent in asset_graph.get(key).parent_keys
    }
    assert edges == EXPECTED_EDGES


def test_every_mart_has_blocking_checks_and_the_ge_suite_blocks(asset_graph):
    blocking = {
        key for key in asset_graph.asset_check_keys if asset_graph.get_check_spec(key).blocking
    }
    on = {key.asset_key.to_user_string() for key in blocking}
    assert {"billing_corrections", "project_margin", "stg_harvest__time_entries"} <= on
    assert (
        dg.AssetCheckKey(dg.AssetKey("stg_harvest__time_entries"), "time_entries_expectations")
        in blocking
    )


def test_dagster_validates_the_workspace(tmp_path):
    dagster = Path(sys.executable).with_name("dagster")
    result = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PSA_DATA_DIR": str(tmp_path)},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Validation successful" in result.stdout + result.stderr
