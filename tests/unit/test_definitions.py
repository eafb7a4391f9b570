"""Pin the asset graph: a renamed key or a broken lineage edge is a visible change here."""

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from psa_pipeline.definitions import build_definitions
from psa_pipeline.settings import PROJECT_ROOT, load_settings

# Kantata's rate card objects, read for stg_kantata__rate_cards
KANTATA_RATE_CARDS = (
    *("roles", "rate_card_sets", "rate_cards", "rate_card_set_versions"),
    *("rate_card_versions", "rate_card_roles"),
)


def _raw(system: str, *resources: str) -> dict[str, str]:
    return {f"raw/{system}/{resource}": system for resource in resources}


def _group(group: str, *names: str) -> dict[str, str]:
    return dict.fromkeys(names, group)


# the dashboard's pages, one dbt exposure each (psa_pipeline/dashboard/exposures.py)
DASHBOARD_PAGES = (
    *("overview", "margin", "backlog", "unbilled_wip", "utilization", "revenue_leakage"),
    "integration_health",
)

EXPECTED_ASSETS = {
    **_raw("hubspot", "deals", "companies", "line_items", "p_contracts", "deal_companies"),
    **_raw("kantata", "workspaces", "stories", "assignments", "users"),
    **_raw("kantata", *KANTATA_RATE_CARDS),
    **_raw("harvest", "time_entries", "expenses", "users", "clients", "projects", "tasks"),
    **_raw("bamboohr", "employees", "compensation", "time_off"),
    **_raw(
        "netsuite",
        *("invoices", "invoice_lines", "subsidiaries", "customers", "jobs", "credit_memos"),
        *("payments", "transaction_links", "currency_rates", "currencies"),
    ),
    **_group(
        "staging_hubspot",
        *("stg_hubspot__deals", "stg_hubspot__companies", "stg_hubspot__line_items"),
        *("stg_hubspot__contract_versions", "stg_hubspot__deal_companies"),
    ),
    **_group(
        "staging_kantata",
        *("stg_kantata__workspaces", "stg_kantata__stories", "stg_kantata__assignments"),
        *("stg_kantata__rate_cards", "stg_kantata__users"),
    ),
    **_group(
        "staging_harvest",
        *("stg_harvest__time_entries", "stg_harvest__expenses", "stg_harvest__users"),
        *("stg_harvest__clients", "stg_harvest__projects", "stg_harvest__tasks"),
    ),
    **_group(
        "staging_bamboohr",
        *("stg_bamboohr__employees", "stg_bamboohr__compensation", "stg_bamboohr__time_off"),
    ),
    **_group(
        "staging_netsuite",
        *("stg_netsuite__invoices", "stg_netsuite__invoice_lines", "stg_netsuite__jobs"),
        *("stg_netsuite__credit_memos", "stg_netsuite__credit_memo_lines"),
        *("stg_netsuite__transaction_lines", "stg_netsuite__transaction_links"),
        *("stg_netsuite__payments", "stg_netsuite__customers", "stg_netsuite__subsidiaries"),
        "stg_netsuite__currency_rates",
        "stg_netsuite__currencies",
    ),
    **_group(
        "intermediate",
        *("int_customers__normalized", "int_customers__matched", "int_resources__matched"),
        *("int_projects__matched", "int_projects__planned", "int_fx_rates__daily"),
        *("int_contract_rates__unpivoted", "int_time_entries__rated", "int_as_of__derived"),
        *("int_invoice_lines__linked", "int_billing_months__invoiced"),
        *("int_resource_days__available", "int_rate_cards__compared", "int_corrections__in_erp"),
    ),
    **_group(
        "marts_core",
        *("dim_customer", "dim_contract", "dim_project", "dim_resource"),
        *("fct_time_entry", "fct_expense", "fct_milestone", "fct_invoice_line", "fct_payment"),
    ),
    **_group(
        "marts_finance",
        *("project_margin_monthly", "backlog_monthly", "backlog_by_month_ahead"),
        *("unbilled_wip", "revenue_leakage"),
        *("billing_corrections", "month_end_close_snapshots", "sold_vs_delivered_by_role"),
    ),
    **_group(
        "marts_operations",
        *("utilization_monthly", "utilization_practice_monthly", "integration_health"),
        *("identity_match_review", "rate_card_disagreements", "billable_work_by_task_monthly"),
    ),
    "erp_sync_invoices": "reverse_sync",
    "published_marts": "dashboard",
    **_group("dashboard", *(f"dashboard/{page}" for page in DASHBOARD_PAGES)),
}
# Great Expectations suites (a blocking check named great_expectations on each)
EXPECTED_GE_SUITES = {
    "raw/harvest/time_entries",
    "raw/harvest/expenses",
    "raw/netsuite/invoices",
    "raw/netsuite/invoice_lines",
    "raw/netsuite/credit_memos",
    "raw/netsuite/payments",
    "raw/netsuite/currency_rates",
    "raw/netsuite/currencies",
    "raw/hubspot/deals",
    "raw/hubspot/line_items",
    "raw/hubspot/p_contracts",
    "raw/kantata/rate_card_roles",
    "raw/kantata/rate_card_set_versions",
    "raw/kantata/stories",
    "raw/bamboohr/compensation",
    "raw/bamboohr/employees",
    "stg_harvest__time_entries",
    "fct_time_entry",
    "fct_invoice_line",
    "revenue_leakage",
    "billing_corrections",
    "project_margin_monthly",
}
# dlt -> dbt source -> staging: each raw table feeds its staging model (NetSuite's transaction
# lines are read with their headers, to tell invoice lines from credit memo lines)
RAW_FEEDS = {
    raw: {
        "stg_"
        + raw.split("/")[1]
        + "__"
        + raw.split("/")[2].replace("p_contracts", "contract_versions")
    }
    for raw in EXPECTED_ASSETS
    if raw.startswith("raw/")
} | {
    "raw/kantata/workspaces": {
        "stg_kantata__workspaces",
        "stg_kantata__stories",
        "stg_kantata__rate_cards",
    },
    "raw/kantata/stories": {"stg_kantata__stories", "stg_kantata__assignments"},
    **{f"raw/kantata/{raw}": {"stg_kantata__rate_cards"} for raw in KANTATA_RATE_CARDS},
    # a time entry's project code is the project's, its currency the client's
    "raw/harvest/projects": {"stg_harvest__projects", "stg_harvest__time_entries"},
    "raw/harvest/clients": {"stg_harvest__clients", "stg_harvest__time_entries"},
    "raw/netsuite/invoice_lines": {"stg_netsuite__transaction_lines"},
    "raw/netsuite/invoices": {
        "stg_netsuite__invoices",
        "stg_netsuite__transaction_lines",
        "stg_netsuite__transaction_links",
    },
    "raw/netsuite/credit_memos": {"stg_netsuite__credit_memos", "stg_netsuite__transaction_lines"},
    "raw/netsuite/payments": {"stg_netsuite__payments"},
}
MART_GROUPS = {"marts_core", "marts_finance", "marts_operations"}
# the money path, from the facts to the ERP
MONEY_PATH = {
    ("int_time_entries__rated", "fct_time_entry"),
    ("int_invoice_lines__linked", "fct_invoice_line"),
    ("int_fx_rates__daily", "fct_time_entry"),
    ("fct_time_entry", "revenue_leakage"),
    ("fct_invoice_line", "revenue_leakage"),
    ("fct_expense", "revenue_leakage"),
    ("fct_milestone", "revenue_leakage"),
    ("int_projects__matched", "revenue_leakage"),
    ("revenue_leakage", "billing_corrections"),
    ("dim_project", "billing_corrections"),
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


def _children(asset_graph) -> dict[str, set[str]]:
    """Each asset's name -> the names of the assets it feeds."""

    def name(key: dg.AssetKey) -> str:
        return key.to_user_string()

    return {
        name(key): {name(child) for child in asset_graph.get(key).child_keys}
        for key in asset_graph.get_all_asset_keys()
    }


def _reached(edges: dict[str, set[str]], start: str) -> set[str]:
    """Every node reached from `start` along `edges`, `start` included."""
    reached, frontier = set(), {start}
    while frontier:
        reached |= frontier
        frontier = {nxt for node in frontier for nxt in edges[node]} - reached
    return reached


def test_lineage_runs_from_each_api_resource_to_the_sync(asset_graph):
    children = _children(asset_graph)
    assert {raw: children[raw] for raw in RAW_FEEDS} == RAW_FEEDS
    edges = {(parent, child) for parent, kids in children.items() for child in kids}
    assert MONEY_PATH <= edges
    # every source table reaches a mart, and the time entries reach the ERP sync
    for raw in RAW_FEEDS:
        reached = _reached(children, raw)
        groups = {EXPECTED_ASSETS[node] for node in reached}
        assert groups & MART_GROUPS, raw
        if raw == "raw/harvest/time_entries":
            assert "erp_sync_invoices" in reached


def test_every_mart_is_published_and_every_page_reads_the_publication(asset_graph):
    marts = {
        key
        for key in asset_graph.get_all_asset_keys()
        if asset_graph.get(key).group_name.startswith("marts_")
    }
    published = asset_graph.get(dg.AssetKey("published_marts"))
    assert marts | {dg.AssetKey("erp_sync_invoices")} == set(published.parent_keys)
    pages = {dg.AssetKey(["dashboard", page]) for page in DASHBOARD_PAGES}
    assert set(published.child_keys) == pages
    for page in pages:
        # a page names the marts it shows (its exposure's refs), and none is materialised
        assert set(asset_graph.get(page).parent_keys) - {published.key} <= marts
        assert not asset_graph.get(page).is_materializable


def test_the_asset_graph_is_one_connected_component(asset_graph):
    """No island: every asset is linked, upstream or downstream, to every other."""
    children = _children(asset_graph)
    neighbours = {node: set(kids) for node, kids in children.items()}
    for parent, kids in children.items():
        for kid in kids:
            neighbours[kid].add(parent)
    assert set(neighbours) - _reached(neighbours, "raw/harvest/time_entries") == set()


def test_every_staged_table_feeds_a_mart(asset_graph):
    """A staging model no mart reads is work the pages never see."""
    children = _children(asset_graph)
    staged = {node for node in children if EXPECTED_ASSETS[node].startswith("staging_")}
    unread = {
        node
        for node in staged
        if not {EXPECTED_ASSETS[reached] for reached in _reached(children, node)} & MART_GROUPS
    }
    assert len(staged) == 31
    assert unread == set()


def test_every_mart_has_blocking_checks_and_the_ge_suite_blocks(asset_graph):
    blocking = {
        key for key in asset_graph.asset_check_keys if asset_graph.get_check_spec(key).blocking
    }
    on = {key.asset_key.to_user_string() for key in blocking}
    assert {"billing_corrections", "project_margin_monthly", "stg_harvest__time_entries"} <= on
    ge_checks = {key for key in blocking if key.name == "great_expectations"}
    assert {key.asset_key.to_user_string() for key in ge_checks} == EXPECTED_GE_SUITES


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
