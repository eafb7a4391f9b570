"""NetSuite as public material shows SuiteQL's answers (fixtures/netsuite/SOURCES.md), replayed
over loopback through the real ingest asset and the staging models: strings typed, account
dates read, posting signs turned, ids resolved, a payment of two invoices kept as two links, and
a second run that asks from the newest change as an instant."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal

import dagster as dg
import pytest

from psa_pipeline.definitions import build_definitions
from psa_pipeline.ingest.assets import ingest_assets
from psa_pipeline.settings import SANDBOX_NETSUITE_ACCOUNT_ID, SourceEndpoint, sandbox_tba
from psa_pipeline.sources.netsuite import RESOURCES
from tests.conformance.harness import land, rows, settings_for_vendor, stage
from tests.conformance.replay import Exchange, ReplayServer, fixture

SUITEQL = "/services/rest/query/v1/suiteql"
# the query each resource sends, told apart by a piece of its SuiteQL
QUERIES = {
    "invoices": r"WHERE t\.type = 'CustInvc' AND SYS_EXTRACT_UTC",
    "invoice_lines": r"FROM transactionline tl JOIN transaction t",
    "credit_memos": r"WHERE t\.type = 'CustCred' AND",
    "payments": r"WHERE t\.type = 'CustPymt' AND",
    "transaction_links": r"FROM previoustransactionlink ptl",
    "customers": r"FROM customer c",
    "jobs": r"FROM job j",
    "currency_rates": r"FROM currencyrate r",
    "subsidiaries": r"FROM subsidiary s",
    "currencies": r"FROM currency c",
}
# every request signed as NetSuite's token-based auth wants it
SIGNED = {
    "authorization": re.compile(
        rf'OAuth realm="{SANDBOX_NETSUITE_ACCOUNT_ID}".*oauth_signature_method="HMAC-SHA256".*',
        re.DOTALL,
    ),
    "prefer": "transient",
}


def answers(pages: dict[str, str], times: int | None = None) -> list[Exchange]:
    return [
        Exchange(
            "POST",
            SUITEQL,
            fixture("netsuite", pages.get(name, f"{name}.json")),
            body=(QUERIES[name],),
            headers=SIGNED,
            params={"limit": "1000"},
            times=times,
        )
        for name in QUERIES
    ]


def endpoint(vendor: ReplayServer) -> SourceEndpoint:
    return SourceEndpoint(
        vendor.url,
        "",
        account_id=SANDBOX_NETSUITE_ACCOUNT_ID,
        date_format="M/D/YYYY",
        **sandbox_tba(),
    )


def test_every_resource_is_answered():
    assert set(QUERIES) == set(RESOURCES)


def test_documented_payloads_land_typed_and_a_second_run_asks_from_the_newest_instant(tmp_path):
    changed = Exchange(
        "POST",
        SUITEQL,
        fixture("netsuite", "invoices_changed.json"),
        body=(QUERIES["invoices"], re.escape("TO_TIMESTAMP('2026-03-02T09:05:00Z'")),
        headers=SIGNED,
    )
    with ReplayServer(
        [changed, *answers({}, times=1), *answers(dict.fromkeys(QUERIES, "empty.json"))]
    ) as vendor:
        settings = settings_for_vendor("netsuite", tmp_path / "data", endpoint(vendor))
        with dg.instance_for_test() as instance:
            land("netsuite", settings, instance)
            stage("netsuite", settings, tmp_path)
            assert_first_run_typed(settings)

            vendor.clear()
            land("netsuite", settings, instance)
            (asked,) = [r for r in vendor.requests if re.search(QUERIES["invoices"], r.body)]
            # the newest change, as an instant: 2026-03-02T09:05, not the text-greatest "3/1/2026"
            assert (
                "TO_TIMESTAMP('2026-03-02T09:05:00Z', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
                in asked.json()["q"]
            )
            stage("netsuite", settings, tmp_path)
    (paid,) = rows(settings, "select * from staging.stg_netsuite__invoices where invoice_id = 5501")
    assert paid["invoice_status"] == "paidInFull" and paid["is_paid_in_full"]
    assert paid["updated_at"].replace(tzinfo=UTC) == datetime(2026, 3, 9, 16, 20, tzinfo=UTC)


def assert_first_run_typed(settings) -> None:
    invoices = {
        r["invoice_id"]: r for r in rows(settings, "select * from staging.stg_netsuite__invoices")
    }
    assert set(invoices) == {5501, 5502, 5503}
    first = invoices[5501]
    assert first["total_amount"] == Decimal("1250.00") and first["total_currency"] == "USD"
    assert first["invoiced_on"] == date(2026, 3, 2)  # read from the account's 3/2/2026
    assert first["invoice_status"] == "open" and not first["is_draft"]
    assert first["external_id"] is None and first["project_code"] == "PRJ-1001"
    assert invoices[5502]["total_currency"] == "EUR" and invoices[5502]["external_id"]
    assert invoices[5502]["updated_at"].replace(tzinfo=UTC) == datetime(2026, 3, 1, tzinfo=UTC)

    lines = {
        r["invoice_line_id"]: r
        for r in rows(settings, "select * from staging.stg_netsuite__invoice_lines")
    }
    assert set(lines) == {90001, 90002, 90003, 90004}
    hours = lines[90001]
    assert (hours["quantity"], hours["rate_amount"], hours["line_amount"]) == (
        Decimal("7.5"),
        Decimal("150.00"),
        Decimal("1125.00"),
    )  # an invoice's income line arrives as a credit, -7.5 and -1125.00
    assert hours["item"] == "Professional Services" and hours["time_entry_id"] == 880001
    assert hours["line_currency"] == "USD"
    assert lines[90002]["expense_id"] == 770001 and lines[90003]["milestone_id"] == 660001
    assert lines[90003]["line_currency"] == "EUR"
    (credit_line,) = rows(settings, "select * from staging.stg_netsuite__credit_memo_lines")
    assert credit_line["credit_memo_id"] == 5601 and credit_line["line_amount"] == Decimal("125.00")

    (memo,) = rows(settings, "select * from staging.stg_netsuite__credit_memos")
    assert (memo["invoice_id"], memo["total_amount"], memo["credit_memo_status"]) == (
        5501,
        Decimal("125.00"),
        "applied",
    )
    (payment,) = rows(settings, "select * from staging.stg_netsuite__payments")
    assert (
        payment["total_amount"] == Decimal("1425.00") and payment["payment_status"] == "deposited"
    )
    assert payment["paid_on"] == date(2026, 3, 20) and payment["project_code"] is None

    links = rows(
        settings,
        "select * from staging.stg_netsuite__transaction_links order by applying_transaction_id, invoice_id",
    )
    assert [
        (r["applying_transaction_id"], r["invoice_id"], r["link_type"], r["applied_amount"])
        for r in links
    ] == [
        (5601, 5501, "Credit Memo", Decimal("125.00")),
        (5701, 5501, "Payment", Decimal("1125.00")),
        (5701, 5503, "Payment", Decimal("300.00")),  # one payment, two invoices, two rows
    ]
    assert {r["applied_currency"] for r in links} == {"USD"}

    customers = {
        r["erp_customer_id"]: r
        for r in rows(settings, "select * from staging.stg_netsuite__customers")
    }
    assert (
        customers[1201]["crm_company_id"] == "7000301"
        and customers[1201]["customer_currency"] == "USD"
    )
    assert (
        customers[1202]["website_url"] is None and customers[1202]["parent_erp_customer_id"] == 1201
    )
    assert customers[1202]["customer_currency"] == "EUR"
    jobs = {r["erp_job_id"]: r for r in rows(settings, "select * from staging.stg_netsuite__jobs")}
    assert (jobs[3301]["job_status"], jobs[3301]["is_closed"], jobs[3302]["is_closed"]) == (
        "In Progress",
        False,
        True,
    )
    assert jobs[3301]["starts_on"] == date(2026, 1, 12) and jobs[3302]["job_currency"] == "EUR"
    rates = rows(
        settings, "select * from staging.stg_netsuite__currency_rates order by currency_rate_id"
    )
    assert [
        (r["from_currency"], r["to_currency"], r["exchange_rate"], r["rate_on"]) for r in rates
    ] == [
        ("EUR", "USD", Decimal("1.0825"), date(2026, 3, 2)),
        ("GBP", "USD", Decimal("1.2710"), date(2026, 3, 2)),
    ]
    subsidiaries = rows(settings, "select * from staging.stg_netsuite__subsidiaries order by 1")
    assert [(s["subsidiary_currency"], s["country_code"]) for s in subsidiaries] == [
        ("USD", "US"),
        ("EUR", "DE"),
    ]


def test_an_empty_tenant_lands_every_table_and_builds_staging(tmp_path):
    with ReplayServer(answers(dict.fromkeys(QUERIES, "empty.json"))) as vendor:
        settings = settings_for_vendor("netsuite", tmp_path / "data", endpoint(vendor))
        with dg.instance_for_test() as instance:
            land("netsuite", settings, instance)
        stage("netsuite", settings, tmp_path)
    for model in (
        "invoices",
        "invoice_lines",
        "credit_memos",
        "credit_memo_lines",
        "payments",
        "transaction_links",
        "customers",
        "jobs",
        "currency_rates",
        "subsidiaries",
        "currencies",
    ):
        assert rows(settings, f"select count(*) as n from staging.stg_netsuite__{model}") == [
            {"n": 0}
        ]


@pytest.mark.parametrize(
    ("date_format", "lands"),
    [("M/D/YYYY", True), ("DD.MM.YYYY", False)],
)
def test_a_date_in_no_expected_format_stops_the_run_with_the_reason(tmp_path, date_format, lands):
    """The fixtures write 3/2/2026: read under M/D/YYYY, refused (never mis-read) under DD.MM.YYYY."""
    with ReplayServer(answers({})) as vendor:
        settings = settings_for_vendor(
            "netsuite",
            tmp_path / "data",
            SourceEndpoint(
                vendor.url,
                "",
                account_id=SANDBOX_NETSUITE_ACCOUNT_ID,
                date_format=date_format,
                **sandbox_tba(),
            ),
        )
        if lands:
            with dg.instance_for_test() as instance:
                land("netsuite", settings, instance)
            return
        with dg.instance_for_test() as instance:
            result = dg.materialize(
                [a for a in ingest_assets if a.node_def.name == "ingest_netsuite"],
                resources=build_definitions(settings).resources,
                instance=instance,
                raise_on_error=False,
            )
    assert not result.success
    failure = str(result.get_step_failure_events()[0].event_specific_data.error)
    assert "neither ISO 8601 nor the account's date format 'DD.MM.YYYY'" in failure
    assert "SOURCES__NETSUITE__DATE_FORMAT" in failure
