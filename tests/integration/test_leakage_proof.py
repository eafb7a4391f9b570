"""The proof: the warehouse finds exactly the revenue leakage the sandbox injected.

Each firm is served over HTTP, ingested by the dlt assets into a fresh DuckDB file, and built
by `dbt build` (the models, their data tests and unit tests) from staging up to the leakage
mart. Then the mart must hold the sandbox's truth and nothing else: every item with its cause,
its amount to the cent, its currency and every source record involved; and the billed lines of
fct_invoice_line must add up to the ERP's invoice totals, read back over HTTP, per currency.

The small firm runs under three seeds (seed 8 has no credit memo yet), and once with defect rates high enough that every kind
of leakage occurs (some never do at the small firm's default rates); the medium firm once
(slow). A firm is generated, ingested and built once per module; the dbt project parsed once
per session.
"""

from __future__ import annotations

import shutil
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from psa_pipeline.sandbox.plan import DefectRates, FirmConfig
from psa_pipeline.sandbox.server import SandboxServer
from psa_pipeline.sandbox.truth import LEAKAGE
from psa_pipeline.settings import Settings
from tests.helpers import dbt, settings_for, start_sandbox, suiteql, truth
from tests.integration.test_ingest import materialize

# high enough that the small firm of seed 7 shows every kind (checked by a test below)
EVERY_KIND = DefectRates(
    unbilled_time=0.05,
    time_billed_twice=0.02,
    milestone_not_invoiced=0.5,
    expense_not_invoiced=0.1,
    won_deal_without_project=0.2,
    unmapped_project_code=0.01,
)
FIRMS = {
    "small-7": FirmConfig(seed=7),
    "small-8": FirmConfig(seed=8),  # no credit memos at all: an empty ERP table
    "small-23": FirmConfig(seed=23),
    "small-7-every-kind": FirmConfig(seed=7, defects=EVERY_KIND),
    "medium-7": FirmConfig(seed=7, size="medium"),
}
SLOW = {"medium-7"}
# what the proof builds: the two marts it reads and everything under them, tests included
SELECTION = ["+revenue_leakage", "+fct_invoice_line"]
# the mart's id columns, by the truth's name for the records they hold
RECORD_COLUMNS = {
    "harvest/time_entries": ["time_entry_id"],
    "harvest/expenses": ["expense_id"],
    "kantata/stories": ["milestone_id"],
    "hubspot/deals": ["crm_deal_id"],
    "hubspot/p_contracts": ["contract_version_id"],
    "netsuite/transactionline": ["original_invoice_line_id", "invoice_line_id"],
}

# an item: (cause, record id, amount, currency, ((records key, (ids...)), ...))
Item = tuple[str, str, str, str, tuple]


@dataclass
class BuiltFirm:
    name: str
    server: SandboxServer
    settings: Settings
    truth: list[dict]

    def query(self, sql: str) -> list[tuple]:
        with duckdb.connect(str(self.settings.warehouse_path), read_only=True) as conn:
            return conn.execute(sql).fetchall()


def dbt_in(command: str, build_dir: Path, *args: str) -> None:
    """dbt on the session's warehouse, its target and logs in the session's build directory."""
    dbt(command, build_dir, build_dir / "data" / "warehouse.duckdb", *args)


@pytest.fixture(scope="session")
def build_dir(tmp_path_factory) -> Path:
    """Where every firm is ingested and built, one after the other, with the manifest parsed
    once: the warehouse path (a dbt var) stays the same, so dbt's partial parsing keeps the
    manifest from one build to the next instead of parsing the project again."""
    directory = tmp_path_factory.mktemp("leakage-proof")
    dbt_in("parse", directory)
    return directory


@pytest.fixture(
    scope="module",
    params=[pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in FIRMS],
)
def firm(request, tmp_path_factory, build_dir):
    """A firm served, ingested and built by dbt (models, data tests and unit tests)."""
    name = request.param
    data_dir = build_dir / "data"
    shutil.rmtree(data_dir, ignore_errors=True)  # the previous firm's warehouse and dlt state
    server = start_sandbox(tmp_path_factory.mktemp(name) / "sandbox", FIRMS[name])
    try:
        settings = settings_for(server, data_dir)
        with dg.DagsterInstance.ephemeral() as instance:
            materialize(server, settings, instance)
        dbt_in("build", build_dir, "--select", *SELECTION, "--indirect-selection", "cautious")
        yield BuiltFirm(name, server, settings, truth(server))
    finally:
        server.stop()


def injected(firm: BuiltFirm) -> Counter[Item]:
    return Counter(
        (
            item["kind"],
            item["record_id"],
            item["amount"],
            item["currency"],
            tuple(sorted((key, tuple(sorted(ids))) for key, ids in item["records"].items())),
        )
        for item in firm.truth
        if item["kind"] in LEAKAGE
    )


def found(firm: BuiltFirm) -> Counter[Item]:
    columns = [c for names in RECORD_COLUMNS.values() for c in names]
    rows = firm.query(
        "select cause, source_record_id, leakage_amount, leakage_currency, "
        f"{', '.join(columns)} from marts.revenue_leakage"
    )
    items: Counter[Item] = Counter()
    for cause, record_id, amount, currency, *ids in rows:
        by_column = dict(zip(columns, ids, strict=True))
        records = {
            key: tuple(sorted(str(by_column[c]) for c in names if by_column[c] is not None))
            for key, names in RECORD_COLUMNS.items()
        }
        items[
            (
                cause,
                record_id,
                f"{amount:.2f}",
                currency,
                tuple(sorted((key, ids) for key, ids in records.items() if ids)),
            )
        ] += 1
    return items


def kind_table(expected: Counter[Item], actual: Counter[Item]) -> str:
    """kind | injected | found | exact | amount injected | amount found (per currency)."""

    def amounts(items: list[Item]) -> str:
        totals: Counter[str] = Counter()
        for item in items:
            totals[item[3]] += Decimal(item[2])
        return " ".join(f"{currency} {total}" for currency, total in sorted(totals.items()))

    both = expected & actual
    rows = ["kind | injected | found | exact | amount injected | amount found"]
    for kind in sorted(LEAKAGE):
        mine = [i for i in expected.elements() if i[0] == kind]
        theirs = [i for i in actual.elements() if i[0] == kind]
        exact = sum(n for i, n in both.items() if i[0] == kind)
        rows.append(
            f"{kind} | {len(mine)} | {len(theirs)} | {exact} | {amounts(mine) or 0} | "
            f"{amounts(theirs) or 0}"
        )
    return "\n".join(rows)


def diff_table(expected: Counter[Item], actual: Counter[Item]) -> str:
    rows = ["side | kind | record | amount | currency | records"]
    for side, items in (("missed", expected - actual), ("extra", actual - expected)):
        for kind, record, amount, currency, records in sorted(items.elements()):
            ids = "; ".join(f"{key}: {','.join(found)}" for key, found in records)
            rows.append(f"{side} | {kind} | {record} | {amount} | {currency} | {ids}")
    return "\n".join(rows)


def test_the_leakage_mart_holds_exactly_the_injected_leakage(firm):
    expected, actual = injected(firm), found(firm)
    print(f"\n{firm.name}\n{kind_table(expected, actual)}")
    assert actual == expected, (
        f"{firm.name}: leakage found differs from the truth\n"
        f"{kind_table(expected, actual)}\n{diff_table(expected, actual)}"
    )


def test_billed_totals_equal_the_erp_invoice_totals(firm):
    headers = suiteql(  # SuiteQL gives the currency's internal id; its symbol is the ISO code
        firm.server,
        "select c.symbol as currency, t.foreigntotal from transaction t "
        "join currency c on c.id = t.currency where t.type = 'CustInvc'",
    )
    erp: Counter[str] = Counter()
    for header in headers:
        erp[header["currency"]] += Decimal(header["foreigntotal"])
    billed = dict(
        firm.query("select line_currency, sum(line_amount) from marts.fct_invoice_line group by 1")
    )
    assert billed == dict(erp) and billed


def test_the_every_kind_firm_shows_every_kind_of_leakage(tmp_path):
    """Else the proof would pass on that firm without ever seeing some kinds."""
    server = start_sandbox(tmp_path / "sandbox", FIRMS["small-7-every-kind"])
    try:
        assert {item["kind"] for item in truth(server)} >= LEAKAGE
    finally:
        server.stop()
