"""Identity resolution finds, against the sandbox's truth, every customer the ERP holds twice and
every wrong cross-reference, and links every person and every project across the systems.

One small firm with every client duplicated in the ERP and every typed CRM reference wrong
(where one was typed at all) is served over HTTP, ingested by the dlt assets into a fresh
DuckDB file and built once by `dbt build` (models, data tests and unit tests) up to the
identity review list, the dimensions and integration health. The truth says which records are
defects; the firm's plan (the sandbox's structure, drawn from the seed) says which record of each
system is which client, person and project.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

import dagster as dg
import duckdb
import pytest

from psa_pipeline.sandbox.plan import INITIAL_AS_OF, DefectRates, FirmConfig, FirmPlan, plan_firm
from psa_pipeline.settings import Settings
from tests.helpers import dbt, settings_for, start_sandbox, truth
from tests.integration.test_ingest import materialize

FIRM = FirmConfig(seed=7, defects=DefectRates(duplicate_customer=1.0, wrong_external_id=1.0))
SELECTION = [
    "+identity_match_review",
    "+integration_health",
    "+dim_customer",
    "+dim_contract",
    "+dim_project",
    "+dim_resource",
]


@dataclass
class BuiltFirm:
    settings: Settings
    truth: list[dict] = field(repr=False)
    plan: FirmPlan = field(repr=False)  # its objects refer to each other: a repr never ends

    def query(self, sql: str) -> list[tuple]:
        with duckdb.connect(str(self.settings.warehouse_path), read_only=True) as conn:
            return conn.execute(sql).fetchall()

    def defects(self, kind: str) -> list[dict]:
        return [item for item in self.truth if item["kind"] == kind]


def dbt_build(directory, warehouse) -> None:
    # cautious: only the tests whose models all are built
    dbt("build", directory, warehouse, "--indirect-selection", "cautious", "--select", *SELECTION)


@pytest.fixture(scope="module")
def firm(tmp_path_factory) -> BuiltFirm:
    tmp = tmp_path_factory.mktemp("identity")
    server = start_sandbox(tmp / "sandbox", FIRM)
    try:
        settings = settings_for(server, tmp / "data")
        with dg.DagsterInstance.ephemeral() as instance:
            materialize(server, settings, instance)
        defects = truth(server)
    finally:
        server.stop()
    dbt_build(tmp, settings.warehouse_path)
    return BuiltFirm(settings, defects, plan_firm(FIRM))


def reviews(firm: BuiltFirm, entity: str) -> set[tuple]:
    return set(
        firm.query(
            "select issue, source_system, source_record_id, canonical_id, related_ids "
            f"from marts.identity_match_review where entity = '{entity}'"
        )
    )


def test_the_firm_has_both_customer_defects(firm):
    """Else the test below would pass without seeing them."""
    assert firm.defects("duplicate_customer") and firm.defects("wrong_external_id")


def test_exactly_the_injected_customer_defects_are_listed_for_review(firm):
    company_of_customer = {
        str(client.erp_customer_id): str(client.company_id) for client in firm.plan.clients
    }
    expected = set()
    for item in firm.defects("duplicate_customer"):
        original, copy = item["records"]["netsuite/customer"]
        assert copy == item["record_id"]
        expected.add(
            ("duplicate_record", "netsuite", copy, company_of_customer[original], original)
        )
    for item in firm.defects("wrong_external_id"):
        (customer,) = item["records"]["netsuite/customer"]
        right, wrong = item["records"]["hubspot/companies"]
        expected.add(("external_id_conflict", "netsuite", customer, right, wrong))
    # nothing else: no ambiguous, unmatched or otherwise conflicting customer record
    assert reviews(firm, "customer") == expected


def test_every_erp_customer_and_harvest_client_resolves_to_its_company(firm):
    company_of = {}
    for client in firm.plan.clients:
        company_of[("netsuite", str(client.erp_customer_id))] = str(client.company_id)
        company_of[("harvest", str(client.id))] = str(client.company_id)
        if client.duplicate_erp_id:
            company_of[("netsuite", str(client.duplicate_erp_id))] = str(client.company_id)
    resolved = firm.query(
        "select source_system, source_record_id, crm_company_id, match_status "
        "from intermediate.int_customers__matched"
    )
    assert resolved
    for system, record, company, status in resolved:
        assert company == company_of[(system, record)], (system, record, status)
    # the company's own ERP customer is the original, never the copy
    named = dict(firm.query("select customer_id, erp_customer_id from marts.dim_customer"))
    for client in firm.plan.clients:
        if client.duplicate_erp_id:
            assert named[str(client.company_id)] == client.erp_customer_id


def test_every_employee_is_matched_to_its_harvest_and_kantata_users(firm):
    expected = {
        (c.id, c.harvest_user_id, c.psa_user_id)
        for c in firm.plan.consultants
        if c.hired_on <= INITIAL_AS_OF
    }
    found = set(
        firm.query("select employee_id, harvest_user_id, psa_user_id from marts.dim_resource")
    )
    assert found == expected
    methods = firm.query(
        "select distinct match_status, match_method, match_confidence "
        "from intermediate.int_resources__matched"
    )
    assert [(s, m, float(c)) for s, m, c in methods] == [("matched", "email", 1.0)]
    assert reviews(firm, "resource") == set()


def test_every_won_deal_is_matched_across_the_systems_it_exists_in(firm):
    expected = {}
    for deal in firm.plan.deals:
        project = deal.project
        if project is None or deal.closes_on > INITIAL_AS_OF:
            continue
        if not project.set_up:
            expected[project.code] = ("not_set_up", str(deal.id), None, None, None)
        elif project.opened_on <= INITIAL_AS_OF:
            expected[project.code] = (
                "complete",
                str(deal.id),
                project.workspace_id,
                project.id,
                project.erp_job_id,
            )
        else:
            expected[project.code] = (
                "awaiting_setup",
                str(deal.id),
                None,
                None,
                project.erp_job_id,
            )
    rows = firm.query(
        "select project_code, match_status, crm_deal_id, psa_workspace_id, harvest_project_id, "
        "erp_job_id from intermediate.int_projects__matched where is_in_crm"
    )
    assert {code: tuple(rest) for code, *rest in rows} == expected
    not_set_up = {
        re.search(r"\((PRJ-\d+)\)", item["detail"]).group(1)
        for item in firm.defects("won_deal_without_project")
    }
    assert {code for code, (status, *_) in expected.items() if status == "not_set_up"} == not_set_up


def test_unmapped_codes_are_listed_with_the_code_they_were_meant_for(firm):
    meant = {}
    for item in firm.defects("unmapped_project_code"):
        stray, intended = re.search(r"booked to (\S+),.*meant (\S+)\)", item["detail"]).groups()
        meant[stray] = intended
    listed = {
        (canonical, related)
        for issue, system, _, canonical, related in reviews(firm, "project")
        if issue == "unmapped_code" and system == "harvest"
    }
    assert listed == set(meant.items()) and listed
    others = {issue for issue, *_ in reviews(firm, "project")} - {"unmapped_code", "not_set_up"}
    assert others == set()


def test_integration_health_counts_what_the_review_lists(firm):
    counted = dict(
        firm.query(
            "select entity || ':' || source_system, sum(exception_count) "
            "from marts.integration_health where metric_name = 'records_for_review' group by 1"
        )
    )
    listed = dict(
        firm.query(
            "select entity || ':' || source_system, count(distinct source_record_id) "
            "from marts.identity_match_review group by 1"
        )
    )
    assert {k: v for k, v in counted.items() if v} == listed
    (latest,) = firm.query("select max(month_on) from marts.integration_health")[0]
    assert latest <= date(INITIAL_AS_OF.year, INITIAL_AS_OF.month, 1)
    metrics = {
        name for (name,) in firm.query("select distinct metric_name from marts.integration_health")
    }
    assert metrics == {
        "quote_to_project_days",
        "quote_to_start_days",
        "time_to_bill_days",
        "invoice_exception_rate",
        "unmatched_records",
        "records_for_review",
        "rate_card_disagreements",
    }
