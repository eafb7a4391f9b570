"""Time moves: the firm adds days of activity deterministically, and its clock moves with it."""

import requests

from psa_pipeline.sandbox.firm import advance
from psa_pipeline.sandbox.plan import FirmConfig
from psa_pipeline.sandbox.server import open_firm
from psa_pipeline.sandbox.store import CLIENT_LINE_KEYS, CLIENT_TRANSACTION_IDS
from tests.helpers import AUTH, SMALL_FIRM, invoice_body, start_sandbox, truth


def dump(store, where: dict[str, str] | None = None) -> dict[str, list[tuple]]:
    """Every table of the store (rows matching `where`'s clause for it), in a stable order."""
    with store.connect() as conn:
        tables = [r[0] for r in conn.execute("select name from sqlite_master where type = 'table'")]
        dumped = {}
        for table in tables:
            columns = len(conn.execute(f"select * from {table} limit 0").description)
            order = ", ".join(str(n) for n in range(1, columns + 1))
            clause = (where or {}).get(table, "")
            dumped[table] = [
                tuple(r) for r in conn.execute(f"select * from {table} {clause} order by {order}")
            ]
        return dumped


def test_advancing_in_steps_gives_the_same_firm_as_one_advance(tmp_path):
    stepwise = open_firm(SMALL_FIRM, tmp_path / "a")
    at_once = open_firm(SMALL_FIRM, tmp_path / "b")
    assert dump(stepwise) == dump(at_once)
    advance(stepwise, SMALL_FIRM, 9)
    advance(stepwise, SMALL_FIRM, 12)
    assert advance(at_once, SMALL_FIRM, 21).isoformat() == "2026-07-21"
    assert dump(stepwise) == dump(at_once)


def test_an_advance_adds_time_approvals_invoices_and_moves_the_clock(sandbox):
    before = dump(sandbox.store)
    response = requests.post(f"{sandbox.url}/_sandbox/advance", params={"days": 21}, timeout=60)
    assert response.json() == {"as_of": "2026-07-21"}
    after = dump(sandbox.store)

    new_entries = [e for e in after["harvest_time_entries"] if e[1] > "2026-06-30"]
    assert new_entries and all(e[1] <= "2026-07-21" for e in new_entries)
    approved_since = [e for e in after["harvest_time_entries"] if e[5] and e[21] > "2026-07-01"]
    assert any(e[1] <= "2026-06-30" for e in approved_since)  # June's last weeks got approved
    june_invoices = [t for t in after["netsuite_transaction"] if t[5] == "2026-07-15"]
    assert june_invoices and len(after["netsuite_transaction"]) > len(
        before["netsuite_transaction"]
    )
    assert len(after["sandbox_truth"]) >= len(before["sandbox_truth"])
    payments = [
        t for t in after["netsuite_transaction"] if t[2] == "CustPymt" and t[5] > "2026-06-30"
    ]
    assert payments
    rates = [r for r in after["netsuite_currencyrate"] if r[4] > "2026-06-30"]
    assert len(rates) == 21 * 2  # a rate a day for EUR and GBP

    # writes are stamped with the new clock
    url = f"{sandbox.url}/netsuite/services/rest/record/v1/invoice/eid:CLOCK-1"
    body = {
        "entity": {"id": "5001"},
        "tranDate": "2026-07-21",
        "currency": {"refName": "USD"},
        "item": {
            "items": [{"item": {"refName": "X"}, "quantity": "1", "rate": "1.00", "amount": "1.00"}]
        },
    }
    assert requests.put(url, json=body, headers=AUTH, timeout=10).status_code == 204
    assert (
        requests.get(url, headers=AUTH, timeout=10).json()["lastModifiedDate"]
        == "2026-07-21T23:59:59Z"
    )


def test_the_plan_ends_somewhere_and_says_so(sandbox):
    def advance_a_year():
        return requests.post(f"{sandbox.url}/_sandbox/advance", params={"days": 366}, timeout=600)

    assert [advance_a_year().status_code for _ in range(2)] == [200, 200]  # to 2028-07-01
    refused = advance_a_year()  # past the plan's horizon, three years after 2026-06-30
    assert refused.status_code == 400 and "planned up to 2029-06-30" in refused.json()["detail"]
    assert (
        requests.get(f"{sandbox.url}/_sandbox/health", timeout=10).json()["as_of"] == "2028-07-01"
    )


def test_a_bad_number_of_days_is_a_4xx(sandbox):
    for days in ("0", "-3", "many"):
        response = requests.post(
            f"{sandbox.url}/_sandbox/advance", params={"days": days}, timeout=10
        )
        assert response.status_code == 422


def test_firm_config_is_recovered_from_its_store(tmp_path):
    config = FirmConfig(seed=11, size="small")
    assert FirmConfig.of_meta(open_firm(config, tmp_path).meta) == config


def firm_records(store) -> dict[str, list[tuple]]:
    """Everything the firm made itself: all tables, less what clients wrote to the ERP."""
    return dump(
        store,
        where={
            "netsuite_transaction": f"where id < {CLIENT_TRANSACTION_IDS}",
            "netsuite_transactionline": f"where uniquekey < {CLIENT_LINE_KEYS}",
            "netsuite_idempotency": "where false",
        },
    )


def test_what_clients_write_does_not_change_what_the_firm_does_next(tmp_path):
    written = start_sandbox(tmp_path / "written")
    untouched = open_firm(SMALL_FIRM, tmp_path / "untouched")
    try:
        unbilled = truth(written, "unbilled_time")[0]
        draft = invoice_body()
        draft["item"]["items"][0]["custcol_time_entry_id"] = int(unbilled["record_id"])
        records = f"{written.url}/netsuite/services/rest/record/v1"
        assert requests.put(f"{records}/invoice/eid:D-1", json=draft, headers=AUTH, timeout=10).ok
        assert requests.post(f"{records}/creditMemo", json=draft, headers=AUTH, timeout=10).ok
        requests.post(f"{written.url}/_sandbox/advance", params={"days": 40}, timeout=60)
        advance(untouched, SMALL_FIRM, 40)  # past two invoice days: the 15th of July and August
        assert firm_records(written.store) == firm_records(untouched)
    finally:
        written.stop()
