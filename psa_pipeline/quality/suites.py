"""The Great Expectations suites: one `Suite` per table, declared as data.

A suite names the asset it checks (a raw table `raw/<system>/<resource>`, or a dbt model by
name), the columns that identify a row (they must be present and unique, and they name the
offending rows in a failure) and what else must hold. checks.py turns each into a blocking
Dagster asset check; adding a table is adding a `Suite` to `SUITES`.

Expectations are written as `Expect` records (the GE class name and its arguments) and become
GE objects only when a check runs: importing great_expectations takes ~7 s, too long for
loading the code location.

What the suites are for, beside dbt's own tests: raw suites judge the data as the vendor sent
it, before any model is built on it (ranges, formats of numbers and dates sent as text, ISO
currency codes); staging and mart suites hold the numbers money is computed from to the same
rules after they are typed and joined.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import dagster as dg

ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"
ISO_CURRENCY = r"^[A-Z]{3}$"
DECIMAL_TEXT = r"^-?\d+(?:\.\d+)?$"
MONEY_TEXT = r"^-?\d+(?:\.\d{1,2})?$"  # to the cent at most, as an ERP stores an amount
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
INTERNAL_ID = r"^\d+$"  # a NetSuite list or record field: the internal id, as text


@dataclass(frozen=True)
class Expect:
    """One expectation: a class of `great_expectations.expectations` and its arguments."""

    kind: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def build(self, expectations_module) -> Any:
        return getattr(expectations_module, self.kind)(**self.kwargs)

    def __str__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.kwargs.items())
        return f"{self.kind}({args})"


def not_null(*columns: str) -> tuple[Expect, ...]:
    return tuple(Expect("ExpectColumnValuesToNotBeNull", {"column": c}) for c in columns)


def between(column: str, low: float | None = None, high: float | None = None) -> Expect:
    """Inclusive bounds; nulls are not judged (say `not_null` too where they matter)."""
    return Expect(
        "ExpectColumnValuesToBeBetween", {"column": column, "min_value": low, "max_value": high}
    )


def positive(*columns: str) -> tuple[Expect, ...]:
    return tuple(
        Expect("ExpectColumnValuesToBeBetween", {"column": c, "min_value": 0, "strict_min": True})
        for c in columns
    )


def not_negative(*columns: str) -> tuple[Expect, ...]:
    return tuple(between(c, 0) for c in columns)


def not_zero(*columns: str) -> tuple[Expect, ...]:
    """A line of nothing is no correction: amounts that may be credits (negative), never 0."""
    return tuple(
        Expect("ExpectColumnValuesToNotBeInSet", {"column": c, "value_set": [0]}) for c in columns
    )


def at_least(column: str, other: str) -> Expect:
    """`column` >= `other` on every row where both are present."""
    return Expect(
        "ExpectColumnPairValuesAToBeGreaterThanB",
        {
            "column_A": column,
            "column_B": other,
            "or_equal": True,
            "ignore_row_if": "either_value_is_missing",
        },
    )


def matches(regex: str, *columns: str) -> tuple[Expect, ...]:
    return tuple(
        Expect("ExpectColumnValuesToMatchRegex", {"column": c, "regex": regex}) for c in columns
    )


def currencies(*columns: str) -> tuple[Expect, ...]:
    return matches(ISO_CURRENCY, *columns)


def iso_dates(*columns: str) -> tuple[Expect, ...]:
    """Dates sent as text (`YYYY-MM-DD`), as staging casts them."""
    return matches(ISO_DATE, *columns)


def money_text(*columns: str) -> tuple[Expect, ...]:
    """Amounts sent as text (NetSuite, HubSpot, BambooHR) that staging casts to DECIMAL."""
    return matches(MONEY_TEXT, *columns)


def decimal_text(*columns: str) -> tuple[Expect, ...]:
    return matches(DECIMAL_TEXT, *columns)


@dataclass(frozen=True)
class Suite:
    """What must hold of one table. `key`: the columns that identify a row; `expect`: the
    rest, each an `Expect` or a tuple of them (as the helpers above return)."""

    asset: str  # the asset key as the UI writes it: "raw/harvest/time_entries", "fct_time_entry"
    description: str
    key: tuple[str, ...]
    expect: tuple[Expect | tuple[Expect, ...], ...] = ()

    def __post_init__(self):
        flat = tuple(
            e for item in self.expect for e in (item if isinstance(item, tuple) else (item,))
        )
        object.__setattr__(self, "expect", flat)

    @property
    def asset_key(self) -> dg.AssetKey:
        return dg.AssetKey.from_user_string(self.asset)

    @property
    def expectations(self) -> tuple[Expect, ...]:
        """The key's expectations first (present, unique), then the suite's own."""
        if len(self.key) == 1:
            unique = Expect("ExpectColumnValuesToBeUnique", {"column": self.key[0]})
        else:
            unique = Expect("ExpectCompoundColumnsToBeUnique", {"column_list": list(self.key)})
        return (*not_null(*self.key), unique, *self.expect)

    def build(self) -> list:
        """The suite as GE expectation objects (imports great_expectations)."""
        import great_expectations as gx

        return [e.build(gx.expectations) for e in self.expectations]


RAW_SUITES = (
    # Harvest: the time and expenses that are billed, and what they are billed at
    Suite(
        "raw/harvest/time_entries",
        "Harvest time as sent: who, on what, when; hours within a day; rates not negative; "
        "ISO dates (a time entry carries no currency: its client does).",
        key=("id",),
        expect=(
            not_null("user__id", "project__id", "spent_date", "billable"),
            between("hours", 0, 24),
            not_negative("billable_rate", "cost_rate"),
            iso_dates("spent_date"),
        ),
    ),
    Suite(
        "raw/harvest/expenses",
        "Harvest expenses as sent: who, on what, when; costs not negative; ISO dates, currencies.",
        key=("id",),
        expect=(
            not_null("user__id", "project__id", "spent_date", "total_cost"),
            not_negative("total_cost"),
            iso_dates("spent_date"),
            currencies("client__currency"),
        ),
    ),
    # NetSuite: what was billed and collected, and the rates to convert it
    Suite(
        "raw/netsuite/invoices",
        "ERP invoices as sent: customer, date, currency (an internal id) and a total to the cent "
        "on every one.",
        key=("id",),
        expect=(
            not_null("entity", "trandate", "currency", "foreigntotal"),
            money_text("foreigntotal"),
            iso_dates("trandate"),
            matches(INTERNAL_ID, "entity", "currency"),
        ),
    ),
    Suite(
        "raw/netsuite/invoice_lines",
        "ERP item lines of invoices and credit memos as sent: each belongs to a transaction of "
        "a type read; numbers parse (with posting signs), amounts to the cent.",
        key=("uniquekey",),
        expect=(
            not_null("transaction", "transactiontype", "foreignamount"),
            matches(r"^(?:CustInvc|CustCred)$", "transactiontype"),
            money_text("foreignamount"),
            decimal_text("quantity", "rate"),
        ),
    ),
    Suite(
        "raw/netsuite/credit_memos",
        "ERP credit memos as sent: customer, date, currency, a total to the cent.",
        key=("id",),
        expect=(
            not_null("entity", "trandate", "currency", "foreigntotal"),
            money_text("foreigntotal"),
            iso_dates("trandate"),
            matches(INTERNAL_ID, "entity", "currency"),
        ),
    ),
    Suite(
        "raw/netsuite/payments",
        "ERP customer payments as sent: customer, date, currency, a total to the cent.",
        key=("id",),
        expect=(
            not_null("entity", "trandate", "currency", "foreigntotal"),
            money_text("foreigntotal"),
            iso_dates("trandate"),
            matches(INTERNAL_ID, "entity", "currency"),
        ),
    ),
    Suite(
        "raw/netsuite/currency_rates",
        "ERP exchange rates as sent: both currencies, a dated rate that parses.",
        key=("id",),
        expect=(
            not_null("basecurrency", "transactioncurrency", "exchangerate", "effectivedate"),
            decimal_text("exchangerate"),
            iso_dates("effectivedate"),
            matches(INTERNAL_ID, "basecurrency", "transactioncurrency"),
        ),
    ),
    Suite(
        "raw/netsuite/currencies",
        "ERP currencies as sent: an internal id and the ISO 4217 code (symbol) of each.",
        key=("id",),
        expect=(not_null("symbol"), currencies("symbol")),
    ),
    # HubSpot: what was sold, and at what rates
    Suite(
        "raw/hubspot/deals",
        "CRM deals as landed: a stage on each; amounts (DECIMAL: the connector quarantines text "
        "that is no number) not negative, in ISO currencies.",
        key=("id",),
        expect=(
            not_null("properties__dealstage"),
            not_negative("properties__amount"),
            currencies("properties__deal_currency_code"),
        ),
    ),
    Suite(
        "raw/hubspot/line_items",
        "CRM deal line items as landed: each on a deal; quantities, prices and amounts not "
        "negative; ISO currencies.",
        key=("id",),
        expect=(
            not_null("deal_id"),
            not_negative("properties__quantity", "properties__price", "properties__amount"),
            currencies("properties__hs_line_item_currency_code"),
        ),
    ),
    Suite(
        "raw/hubspot/p_contracts",
        "CRM contract versions as landed: number, version and effective date (a DATE) on each; "
        "values and rates not negative, in ISO currencies.",
        key=("id",),
        expect=(
            not_null(
                "properties__contract_number",
                "properties__version_number",
                "properties__effective_date",
            ),
            matches(r"^\d+$", "properties__version_number"),
            not_negative(
                "properties__total_value",
                "properties__monthly_fee",
                "properties__rate_analyst",
                "properties__rate_consultant",
                "properties__rate_senior_consultant",
                "properties__rate_manager",
                "properties__rate_partner",
            ),
            currencies("properties__contract_currency"),
        ),
    ),
    # Kantata: planned work and the rate cards it is priced with
    Suite(
        "raw/kantata/rate_card_roles",
        "PSA bill rates as sent: each a role's rate (cents per hour, not negative) in a rate "
        "card version.",
        key=("id",),
        expect=(
            not_null("rate_card_version_id", "role_id", "rate"),
            not_negative("rate"),
        ),
    ),
    Suite(
        "raw/kantata/rate_card_set_versions",
        "PSA rate card set versions as sent: each of a set, dated from an ISO effective date.",
        key=("id",),
        expect=(not_null("rate_card_set_id", "effective_date"), iso_dates("effective_date")),
    ),
    Suite(
        "raw/kantata/stories",
        "PSA tasks and milestones as sent: each in a workspace, budgets not negative.",
        key=("id",),
        expect=(not_null("workspace_id", "story_type"), not_negative("budget_estimate_in_cents")),
    ),
    # BambooHR: what people cost
    Suite(
        "raw/bamboohr/compensation",
        "HR pay rates as sent: each for an employee from a date (the row's key: BambooHR sends "
        "no row id), a rate that parses, an ISO currency.",
        key=("employee_id", "start_date"),
        expect=(
            not_null("employee_id", "start_date", "rate__value", "rate__currency"),
            iso_dates("start_date"),
            money_text("rate__value"),
            currencies("rate__currency"),
        ),
    ),
    Suite(
        "raw/bamboohr/employees",
        "HR employees as sent: a work e-mail (how people are matched across systems), a hire date.",
        key=("id",),
        expect=(
            not_null("work_email", "hire_date"),
            matches(EMAIL, "work_email"),
            iso_dates("hire_date"),
        ),
    ),
)

MODEL_SUITES = (
    Suite(
        "stg_harvest__time_entries",
        "Staged time: a project code on every entry, hours within a day, rates not negative, "
        "ISO currency codes.",
        key=("time_entry_id",),
        expect=(
            not_null("project_code", "spent_on"),
            between("hours", 0, 24),
            not_negative("bill_rate_amount"),
            currencies("bill_rate_currency"),
        ),
    ),
    Suite(
        "fct_time_entry",
        "Time as it is valued: hours within a day and billable hours within them, values and "
        "costs not negative, ISO currencies.",
        key=("time_entry_id",),
        expect=(
            not_null("project_code", "spent_on", "hours", "bill_currency"),
            between("hours", 0, 24),
            at_least("hours", "billable_hours"),
            not_negative("billable_hours", "bill_amount", "cost_amount", "invoice_line_count"),
            currencies("bill_currency", "cost_currency", "reporting_currency"),
        ),
    ),
    Suite(
        "fct_invoice_line",
        "Invoice lines as billed: each on an invoice, with an amount, a currency and a month.",
        key=("invoice_line_id",),
        expect=(
            not_null("invoice_id", "line_amount", "line_currency", "billing_month"),
            currencies("line_currency", "reporting_currency"),
        ),
    ),
    Suite(
        "revenue_leakage",
        "Leakage items: each with a cause, a project, an amount that is not zero, ISO currencies.",
        key=("leakage_id",),
        expect=(
            not_null("cause", "project_code", "leakage_amount", "leakage_currency"),
            not_zero("leakage_amount"),
            currencies("leakage_currency", "reporting_currency"),
        ),
    ),
    Suite(
        "billing_corrections",
        "Corrections bound for the ERP: each under a PSA-CORR- external id, for a customer, "
        "a positive quantity, an amount that is not zero, in an ISO currency.",
        key=("correction_id",),
        expect=(
            not_null(
                "correction_version",
                "erp_external_id",
                "erp_customer_id",
                "correction_amount",
                "correction_currency",
            ),
            matches(r"^PSA-CORR-.+$", "erp_external_id"),
            positive("quantity"),
            not_zero("correction_amount"),
            currencies("correction_currency", "reporting_currency"),
        ),
    ),
    Suite(
        "project_margin_monthly",
        "Margin per project and month: sold, planned, delivered, invoiced, credited and "
        "collected not negative; billable hours within delivered hours; ISO currencies.",
        key=("project_margin_month_id",),
        expect=(
            not_null("project_code", "currency", "margin_month"),
            not_negative(
                "sold_amount",
                "planned_hours",
                "delivered_hours",
                "delivered_amount",
                "invoiced_amount",
                "credited_amount",
                "collected_amount",
            ),
            at_least("delivered_hours", "delivered_billable_hours"),
            currencies("currency", "reporting_currency"),
        ),
    ),
)

SUITES = (*RAW_SUITES, *MODEL_SUITES)
