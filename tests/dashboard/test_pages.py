"""Every page of the dashboard, rendered by Streamlit's AppTest against a published firm, its
figures compared with sums computed here from the published marts."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from psa_pipeline.dashboard import data, publish
from psa_pipeline.dashboard.figures import CONFIRMED, NO_CORRECTION, NOT_PUSHED, PUSHED, sync_state
from psa_pipeline.dashboard.filters import period_of
from psa_pipeline.dashboard.pages import ORDER, page_specs
from psa_pipeline.dashboard.shell import TABLES_READ, money
from tests.dashboard.conftest import APP, Published

TIMEOUT = 120  # first runs import plotly and fill the caches on a shared 2-core machine


def render(page: str | None = None) -> AppTest:
    app = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    if page and page != "overview":
        app.switch_page(f"views/{page}.py").run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def metrics(app: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in app.metric}


def closed_month(firm: Published) -> date:
    return firm.scalar("select max(margin_month) from marts.project_margin_monthly where is_closed")


def month_before(month: date) -> date:
    return date(month.year - 1, 12, 1) if month.month == 1 else month.replace(month=month.month - 1)


def margin_sum(firm: Published, column: str, start: date, end: date, where: str = "", params=()):
    return firm.scalar(
        f"select coalesce(sum({column}), 0) from marts.project_margin_monthly "
        f"where margin_month between ? and ?{where}",
        [start, end, *params],
    )


def usd(value) -> str:
    return money(value, "USD")


@pytest.fixture
def app_on(firm, dashboard_env):
    dashboard_env(firm)
    return render


@pytest.mark.parametrize("page", ORDER)
def test_every_page_renders_with_its_trust_banner_and_csv_downloads(firm, app_on, page):
    app = app_on(page)
    as_of = firm.scalar("select as_of_on from publication.info")
    banner = app.success[0].value
    assert f"Data as of **{as_of:%d %b %Y}**" in banner
    published_at = firm.scalar("select published_at from publication.info")
    assert f"{published_at:%Y-%m-%d %H:%M} UTC" in banner
    assert "passed" in banner and not app.warning and not app.error
    assert app.title[0].value == page_specs()[page].label
    downloads = [button.label for button in app.download_button]
    assert downloads and all(label.endswith("(CSV)") for label in downloads)
    assert len(downloads) == len(app.dataframe)


def test_overview_figures_are_the_marts_sums_for_the_last_closed_month(firm, app_on):
    app = app_on("overview")
    month = closed_month(firm)
    before = month_before(month)
    shown = metrics(app)
    for label, column in (
        ("Billed", "billed_reporting_amount"),
        ("Delivered", "delivered_reporting_amount"),
        ("Collected", "collected_reporting_amount"),
    ):
        assert shown[label] == usd(margin_sum(firm, column, month, month)), label
    billed = margin_sum(firm, "billed_reporting_amount", month, month)
    billed_before = margin_sum(firm, "billed_reporting_amount", before, before)
    delta = next(m.delta for m in app.metric if m.label == "Billed")
    assert delta == ("+" if billed >= billed_before else "-") + usd(abs(billed - billed_before))
    delivered = margin_sum(firm, "delivered_reporting_amount", month, month)
    assert shown["Realization"] == f"{float(billed / delivered):.1%}"
    backlog = firm.scalar(
        "select sum(backlog_reporting_amount) from marts.backlog_monthly where backlog_month = ?",
        [month],
    )
    assert shown["Backlog"] == usd(backlog)
    wip = firm.scalar("select sum(wip_reporting_amount) from marts.unbilled_wip")
    assert wip > 0 and shown["Unbilled WIP"] == usd(wip)
    billable, available = firm.query(
        "select sum(billable_hours), sum(available_hours) from marts.utilization_practice_monthly "
        "where utilization_month = ?",
        [month],
    )[0]
    assert shown["Utilization"] == f"{float(billable / available):.1%}"
    # bookings: the increase in signed contract value over the month, at the month end's rate
    sold = firm.scalar(
        "select sum(case when e.sold_amount = 0 then 0 else (e.sold_amount - "
        "coalesce(s.sold_amount, 0)) * e.sold_reporting_amount / e.sold_amount end) "
        "from marts.project_margin_monthly e left join marts.project_margin_monthly s "
        "on s.project_code = e.project_code and s.margin_month = ? where e.margin_month = ?",
        [before, month],
    )
    assert shown["Sold (bookings)"] == usd(sold)
    # open leakage: items up to the month's end whose correction is not in the ERP
    month_end = firm.scalar("select last_day(?::date)", [month])
    open_leakage = firm.scalar(
        "select sum(leakage_reporting_amount) from marts.revenue_leakage where leakage_on <= ? "
        "and leakage_id not in (select l.correction_id from reverse_sync.erp_sync_ledger l "
        "join reverse_sync.erp_sync_outbox o using (external_id) where o.status = 'pushed')",
        [month_end],
    )
    assert shown["Open leakage"] == usd(open_leakage)
    receivable = firm.scalar(
        "select sum(billed_to_date_reporting_amount - collected_to_date_reporting_amount) "
        "from marts.project_margin_monthly where margin_month = ?",
        [month],
    )
    assert shown["DSO"] == f"{float(receivable / billed * month_end.day):,.0f} days"
    assert "**" + month.strftime("%b %Y") + "** against **" + before.strftime("%b %Y") in (
        app.caption[0].value
    )


def test_one_customer_narrows_every_figure_to_its_projects(firm, app_on):
    app = app_on("overview")
    month = closed_month(firm)
    customer = firm.scalar(
        "select customer_id from marts.project_margin_monthly where margin_month = ? "
        "group by 1 having sum(billed_reporting_amount) > 0 order by sum(billed_reporting_amount) "
        "limit 1",
        [month],
    )
    app.selectbox(key="customer").set_value(customer).run()
    assert not app.exception
    shown = metrics(app)
    billed = margin_sum(
        firm, "billed_reporting_amount", month, month, " and customer_id = ?", [customer]
    )
    everyone = margin_sum(firm, "billed_reporting_amount", month, month)
    assert billed != everyone and shown["Billed"] == usd(billed)
    wip = firm.scalar(
        "select coalesce(sum(wip_reporting_amount), 0) from marts.unbilled_wip where customer_id = ?",
        [customer],
    )
    assert shown["Unbilled WIP"] == usd(wip)
    name = firm.scalar(
        "select customer_name from marts.dim_customer where customer_id = ?", [customer]
    )
    assert f"customer: **{name}**" in app.caption[0].value


def test_practice_and_legal_entity_filter_by_the_projects_columns(firm, app_on):
    app = app_on("overview")
    month = closed_month(firm)
    practice, entity = firm.query(
        "select practice, legal_entity from marts.project_margin_monthly "
        "where margin_month = ? and practice is not null and legal_entity is not null "
        "group by 1, 2 order by sum(delivered_reporting_amount) desc limit 1",
        [month],
    )[0]
    app.selectbox(key="practice").set_value(practice).run()
    app.selectbox(key="legal_entity").set_value(entity).run()
    assert not app.exception
    delivered = margin_sum(
        firm,
        "delivered_reporting_amount",
        month,
        month,
        " and practice = ? and legal_entity = ?",
        [practice, entity],
    )
    assert metrics(app)["Delivered"] == usd(delivered)
    billable, available = firm.query(
        "select sum(billable_hours), sum(available_hours) from marts.utilization_practice_monthly "
        "where utilization_month = ? and practice = ?",
        [month, practice],
    )[0]
    assert metrics(app)["Utilization"] == f"{float(billable / available):.1%}"
    # utilization is a consultant's: the page says the entity does not narrow it
    assert any("not filtered by legal entity" in c.value for c in app.caption)


def test_a_quarter_sums_its_months_against_the_quarter_before(firm, app_on):
    app = app_on("overview")
    as_of = firm.scalar("select as_of_on from publication.info")
    month = closed_month(firm)
    app.radio(key="granularity").set_value("Quarter").run()
    quarter = period_of("Quarter", month, as_of)
    app.selectbox(key="period_Quarter").set_value(quarter).run()
    assert not app.exception
    billed = margin_sum(firm, "billed_reporting_amount", quarter.start, quarter.end)
    assert metrics(app)["Billed"] == usd(billed)
    assert f"**{quarter.label}**" in app.caption[0].value


def test_another_currency_converts_at_the_published_rate(firm, app_on):
    app = app_on("overview")
    month = closed_month(firm)
    (rate,) = firm.query("select fx_rate from publication.fx_rates where currency = 'EUR'")[0]
    app.selectbox(key="currency").set_value("EUR").run()
    assert not app.exception
    billed = margin_sum(firm, "billed_reporting_amount", month, month)
    assert rate != 1 and metrics(app)["Billed"] == money(Decimal(str(float(billed))) / rate, "EUR")
    assert any("converted from USD" in c.value for c in app.caption)


def test_wip_page_total_and_buckets_are_the_marts(firm, app_on):
    shown = metrics(app_on("unbilled_wip"))
    assert shown["Unbilled WIP"] == usd(
        firm.scalar("select sum(wip_reporting_amount) from marts.unbilled_wip")
    )
    for bucket, amount in firm.query(
        "select aging_bucket, sum(wip_reporting_amount) from marts.unbilled_wip group by 1"
    ):
        assert shown[f"{bucket} days"] == usd(amount)


def test_margin_waterfall_is_the_projects_to_date_at_the_period_end(firm, app_on):
    app = app_on("margin")
    month = closed_month(firm)
    shown = metrics(app)
    for label, column in (
        ("Sold", "sold_reporting_amount"),
        ("Planned (at completion)", "eac_reporting_amount"),
        ("Delivered", "delivered_to_date_reporting_amount"),
        ("Billed", "billed_to_date_reporting_amount"),
        ("Collected", "collected_to_date_reporting_amount"),
    ):
        assert shown[label] == usd(margin_sum(firm, column, month, month)), label
    # drilling down to one project shows its months
    project = app.selectbox(key="margin_project").value
    months = firm.scalar(
        "select count(*) from marts.project_margin_monthly where project_code = ? and margin_month <= ?",
        [project, month],
    )
    assert len(app.dataframe[-1].value) == months
    # by practice: a row per practice with projects in the period, each adding up to the marts
    by_practice = table_named(app, "margin by practice")
    practices = firm.query(
        "select coalesce(practice, '(none)'), sum(sold_reporting_amount) "
        "from marts.project_margin_monthly where margin_month = ? group by 1 order by 2 desc",
        [month],
    )
    assert by_practice["practice"].tolist() == [p for p, _ in practices]
    assert by_practice["sold"].tolist() == pytest.approx([float(v) for _, v in practices])


def table_named(app: AppTest, name: str):
    """The table shown above the download button called `Download <name> (CSV)`."""
    labels = [button.label for button in app.download_button]
    return app.dataframe[labels.index(f"Download {name} (CSV)")].value


def test_sold_and_delivered_by_role_are_the_quote_lines_and_the_time(firm, app_on):
    roles = table_named(app_on("margin"), "sold and delivered by role")
    wanted = firm.query(
        "select sum(sold_hours), sum(delivered_billable_hours), sum(sold_reporting_amount) "
        "from marts.sold_vs_delivered_by_role where is_quoted_by_role"
    )[0]
    assert len(roles) > 1 and wanted[0] > 0
    shown = (roles["sold_hours"].sum(), roles["delivered_hours"].sum(), roles["sold"].sum())
    assert [round(float(v), 2) for v in shown] == [round(float(v), 2) for v in wanted]


def test_billable_work_by_task_is_the_periods_approved_time(firm, app_on):
    tasks = table_named(app_on("utilization"), "billable work by task")
    month = closed_month(firm)
    wanted = dict(
        firm.query(
            "select task_name, sum(hours) from marts.billable_work_by_task_monthly "
            "where work_month = ? group by 1",
            [month],
        )
    )
    assert wanted and dict(zip(tasks["task"], tasks["hours"], strict=True)) == {
        task: float(hours) for task, hours in wanted.items()
    }


def test_rate_card_disagreements_are_listed_as_findings(firm, tmp_path, dashboard_env):
    """The clean firm's rate cards agree with its contracts; one that does not is shown."""
    dashboard_env(firm)
    clean = render("integration_health")
    assert table_named(clean, "rate card disagreements").empty
    disagreeing = firm.copy(tmp_path)
    with duckdb.connect(str(disagreeing.path)) as conn:
        conn.execute(
            "insert into marts.rate_card_disagreements (rate_card_disagreement_id, project_code, "
            "role_key, rate_card_title, disagreement, psa_rate_amount, psa_rate_currency, "
            "contract_rate_amount, contract_rate_currency, valid_from, is_current) values "
            "('PRJ-1:manager:2026-01-01', 'PRJ-1', 'manager', 'SOW-1', 'rate', 180, 'EUR', 150, "
            "'EUR', '2026-01-01', true)"
        )
    dashboard_env(disagreeing)
    app = render("integration_health")
    assert "1 period(s) where Kantata's rate card prices a role unlike the contract" in (
        app.warning[0].value
    )
    assert table_named(app, "rate card disagreements")["project_code"].tolist() == ["PRJ-1"]


def test_backlog_page_splits_the_period_end_backlog(firm, app_on):
    shown = metrics(app_on("backlog"))
    month = closed_month(firm)
    scheduled, unscheduled = firm.query(
        "select sum(scheduled_backlog_reporting_amount), sum(unscheduled_backlog_reporting_amount) "
        "from marts.backlog_monthly where backlog_month = ?",
        [month],
    )[0]
    label = month.strftime("%b %Y")
    assert shown[f"Scheduled at the end of {label}"] == usd(scheduled)
    assert shown[f"Unscheduled at the end of {label}"] == usd(unscheduled)


def test_backlog_page_lays_todays_backlog_over_the_months_ahead(firm, app_on):
    ahead = table_named(app_on("backlog"), "backlog by month ahead")
    expected = firm.query(
        "select schedule_month, sum(scheduled_reporting_amount), "
        "sum(remaining_backlog_reporting_amount), sum(unscheduled_backlog_reporting_amount) "
        "from marts.backlog_by_month_ahead group by 1 order by 1"
    )
    assert len(expected) > 1  # the plan reaches past the as-of month
    assert [d.date() for d in ahead["month"]] == [row[0] for row in expected]
    assert ahead["scheduled"].tolist() == pytest.approx([float(row[1]) for row in expected])
    assert ahead["remaining"].tolist() == pytest.approx([float(row[2]) for row in expected])
    # the months use up today's backlog: what is left after the last is the unscheduled part
    backlog, scheduled, unscheduled = firm.query(
        "select sum(backlog_reporting_amount), sum(scheduled_backlog_reporting_amount), "
        "sum(unscheduled_backlog_reporting_amount) from marts.backlog_monthly where is_as_of_month"
    )[0]
    assert ahead["scheduled"].sum() == pytest.approx(float(scheduled), abs=0.05)
    assert ahead["remaining"].iloc[-1] == pytest.approx(float(unscheduled), abs=0.05)
    assert ahead["remaining"].iloc[0] + ahead["scheduled"].iloc[0] == pytest.approx(
        float(backlog), abs=0.05
    )


def test_leakage_items_carry_their_corrections_state_in_the_erp_sync(firm, app_on, dashboard_env):
    dashboard_env(firm, PSA_DASHBOARD_LINK_HARVEST="https://harvest.example/{kind}/{id}")
    app = app_on("revenue_leakage")
    # the period holding the most leakage the sync pushed
    month = firm.scalar(
        "select r.billing_month from marts.revenue_leakage r join reverse_sync.erp_sync_ledger l "
        "on l.correction_id = r.leakage_id group by 1 order by count(*) desc limit 1"
    )
    period = period_of("Month", month, firm.scalar("select as_of_on from publication.info"))
    app.selectbox(key="period_Month").set_value(period).run()
    assert not app.exception
    items = next(d.value for d in app.dataframe if "leakage_id" in d.value.columns)
    pushed = {
        cid
        for (cid,) in firm.query(
            "select l.correction_id from reverse_sync.erp_sync_ledger l join "
            "reverse_sync.erp_sync_outbox o using (external_id) where o.status = 'pushed'"
        )
    }
    corrections = {
        cid for (cid,) in firm.query("select correction_id from marts.billing_corrections")
    }
    states = dict(zip(items["leakage_id"], items["sync_state"], strict=True))
    assert pushed & set(states)
    for leakage_id, state in states.items():
        if leakage_id in pushed:
            assert state == PUSHED, leakage_id
        elif leakage_id in corrections:
            assert state == NOT_PUSHED, leakage_id
        else:
            assert state == NO_CORRECTION, leakage_id
    entries = items.dropna(subset=["time_entry_id"])
    assert len(entries) and all(
        link == f"https://harvest.example/time_entry/{int(entry)}"
        for entry, link in zip(entries["time_entry_id"], entries["time_entry_id_link"], strict=True)
    )
    in_month = firm.scalar(
        "select sum(leakage_reporting_amount) from marts.revenue_leakage "
        "where coalesce(billing_month, date_trunc('month', leakage_on)) = ?",
        [month],
    )
    assert metrics(app)[f"Leakage, {period.label}"] == usd(in_month)


def test_sync_states_follow_the_ledger():
    assert sync_state(False, None, False) == NO_CORRECTION
    assert sync_state(True, None, False) == NOT_PUSHED
    assert sync_state(True, "superseded", False) == NOT_PUSHED
    assert sync_state(True, "pushed", False) == PUSHED
    assert sync_state(True, "pushed", True) == CONFIRMED
    assert "dead letter" in sync_state(True, "dead_letter", False)
    assert "pending" in sync_state(True, "pending", False)


def test_held_back_figures_say_so_with_their_reasons(firm, tmp_path, dashboard_env):
    copy = firm.copy(tmp_path)
    reason = "check stg_harvest__time_entries:not_null_time_entry_id failed"
    (copy.path.parent / data.HELD_BACK).write_text(
        json.dumps(
            {"held_back_at": "2026-07-01T02:00:00+00:00", "run_id": "r-42", "reasons": [reason]}
        )
    )
    dashboard_env(copy)
    for page in ("overview", "integration_health"):
        app = render(page)
        assert "Newer figures were held back" in app.error[0].value
        assert reason in app.error[0].value and "r-42" in app.error[0].value
        assert app.metric  # the last good publication's figures still show


def test_a_warned_check_marks_the_figures_it_is_behind(firm, tmp_path, dashboard_env):
    copy = firm.copy(tmp_path)
    warned = "unbilled_wip:relationships_unbilled_wip_resource_id"
    copy.write(
        "update publication.table_checks set checks_passed = checks_passed - 1, "
        f"checks_warned = 1, warned_checks = '{warned}' where table_name = 'unbilled_wip'"
    )
    dashboard_env(copy)
    app = render("overview")
    assert warned in app.warning[0].value and "unbilled_wip" in app.warning[0].value
    assert not app.success
    marked = {m.label: m for m in app.metric}
    assert "⚠ Unbilled WIP" in marked and warned in marked["⚠ Unbilled WIP"].proto.help
    assert "Billed" in marked  # figures from tables whose checks passed stay unmarked
    app = render("backlog")
    assert app.success and not app.warning  # backlog reads no table behind the warning


def test_the_leakage_page_lists_what_the_sync_took_up_and_what_a_refresh_read_back(
    firm, tmp_path, dashboard_env
):
    taken_up = firm.scalar("select count(*) from reverse_sync.erp_sync_ledger")
    assert taken_up > 0
    dashboard_env(firm)
    app = render("revenue_leakage")
    assert metrics(app)["Put right by the sync"] == f"0 of {taken_up:,}"  # none read back yet
    table = table_named(app, "corrections taken up by the sync")
    assert len(table) == taken_up and set(table["sync_state"]) == {PUSHED}
    # a refresh that reads three of them back from the ERP no longer lists their items
    refreshed = firm.copy(tmp_path)
    read_back = [
        cid
        for (cid,) in firm.query(
            "select correction_id from reverse_sync.erp_sync_ledger order by 1 limit 3"
        )
    ]
    refreshed.write(
        "delete from marts.revenue_leakage where leakage_id in "
        f"({', '.join(repr(cid) for cid in read_back)})"
    )
    dashboard_env(refreshed)
    app = render("revenue_leakage")
    assert metrics(app)["Put right by the sync"] == f"3 of {taken_up:,}"
    table = table_named(app, "corrections taken up by the sync")
    assert sorted(table[table["sync_state"] == CONFIRMED]["correction_id"]) == read_back
    by_cause = table_named(app, "corrections by cause and state")
    assert by_cause["corrections"].sum() == taken_up


def test_before_the_first_erp_sync_every_page_renders(firm, tmp_path, dashboard_env):
    """A firm published before any sync has run has no ledger (reverse_sync.*) to read."""
    unsynced = firm.copy(tmp_path)
    unsynced.write("drop schema reverse_sync cascade")
    dashboard_env(unsynced)
    for page in ORDER:
        app = render(page)
        assert not app.error, (page, [e.value for e in app.error])
    assert any("has not written anything yet" in c.value for c in app.caption)
    writes = table_named(app, "ERP writes by state")
    assert writes.empty and list(writes.columns) == ["status", "writes", "corrections"]


def test_without_a_publication_every_page_says_how_to_make_one(tmp_path, dashboard_env):
    dashboard_env(tmp_path)
    for page in ORDER:
        app = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
        if page != "overview":
            app.switch_page(f"views/{page}.py").run()
        assert not app.exception
        assert "make demo" in app.warning[0].value and not app.metric


def test_each_page_reads_exactly_the_marts_its_exposure_names(firm, app_on):
    app = app_on("overview")
    for page in ORDER[1:]:
        app.switch_page(f"views/{page}.py").run()
        assert not app.exception
    read = app.session_state[TABLES_READ]
    for page, spec in page_specs().items():
        assert sorted(read[page]) == list(spec.tables), page


def test_the_held_back_file_is_the_one_the_publisher_writes():
    assert data.HELD_BACK == publish.HELD_BACK
