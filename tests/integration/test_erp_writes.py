"""ERP writes as NetSuite takes them: upsert by external id, create with an idempotency key."""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from psa_pipeline.reverse_sync.erp_client import ErpClient, ErpLoginRefused, ErpUnavailable
from psa_pipeline.settings import SANDBOX_NETSUITE_ACCOUNT_ID, SourceEndpoint, sandbox_tba
from psa_pipeline.sources.netsuite import netsuite_auth
from tests.helpers import (
    AUTH,
    NETSUITE_TBA,
    correction_lines,
    credit_memo_body,
    firm_invoices,
    invoice_body,
    put_record,
    read_record,
    suiteql,
)

RECORDS = "/netsuite/services/rest/record/v1"


def post(server, record_type="invoice", key=None, record=None) -> requests.Response:
    headers = AUTH | ({"X-NetSuite-Idempotency-Key": key} if key else {})
    return requests.post(
        f"{server.url}{RECORDS}/{record_type}",
        json=record or invoice_body(),
        headers=headers,
        timeout=30,
    )


def records(server) -> int:
    return len(suiteql(server, "select id from transaction"))


def test_the_same_key_and_body_give_the_same_record(sandbox):
    before = records(sandbox)
    first, again = post(sandbox, key="k-1"), post(sandbox, key="k-1")
    assert first.status_code == again.status_code == 204
    assert first.headers["Location"] == again.headers["Location"]
    assert records(sandbox) == before + 1


def test_the_same_key_with_another_body_is_refused(sandbox):
    assert post(sandbox, key="k-2").status_code == 204
    refused = post(sandbox, key="k-2", record=invoice_body(amount="900.00", quantity="6"))
    assert refused.status_code == 409
    assert "different request" in refused.json()["o:errorDetails"][0]["detail"]


def test_concurrent_requests_with_one_key_have_one_effect(sandbox):
    before = records(sandbox)
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: post(sandbox, key="k-3"), range(8)))
    assert {a.status_code for a in answers} == {204}
    assert len({a.headers["Location"] for a in answers}) == 1
    assert records(sandbox) == before + 1


def test_without_a_key_each_post_creates(sandbox):
    before = records(sandbox)
    assert post(sandbox).headers["Location"] != post(sandbox).headers["Location"]
    assert records(sandbox) == before + 2


def test_credit_memos_are_records_of_their_own(sandbox):
    credit = f"{sandbox.url}{RECORDS}/creditMemo/eid:SAME-1"
    invoice = f"{sandbox.url}{RECORDS}/invoice/eid:SAME-1"
    assert (
        requests.put(
            credit, json=invoice_body(amount="150.00", quantity="1"), headers=AUTH, timeout=10
        ).status_code
        == 204
    )
    assert requests.get(invoice, headers=AUTH, timeout=10).status_code == 404
    memo = requests.get(credit, headers=AUTH, timeout=10).json()
    assert memo["total"] == "150.00" and memo["tranId"].startswith("CM")
    typed = suiteql(sandbox, "select type from transaction where externalid = 'SAME-1'")
    assert typed == [{"links": [], "type": "CustCred"}]
    assert (
        requests.put(
            f"{sandbox.url}{RECORDS}/salesOrder/eid:X",
            json=invoice_body(),
            headers=AUTH,
            timeout=10,
        ).status_code
        == 422
    )


def test_the_sync_client_signs_with_tba_and_a_refused_login_dead_letters_nothing(sandbox):
    """The reverse sync's client signs as the connector does (OAuth 1.0a, HMAC-SHA256); a
    credential the ERP refuses stops the sync instead of blaming the record."""
    client = ErpClient(f"{sandbox.url}/netsuite", NETSUITE_TBA, retries=0)
    assert client.upsert("invoice", "TBA-1", invoice_body(), "corr-1") is None
    assert client.read("invoice", "TBA-1")["externalId"] == "TBA-1"
    wrong = netsuite_auth(
        SourceEndpoint(
            "",
            "",
            account_id=SANDBOX_NETSUITE_ACCOUNT_ID,
            **(sandbox_tba() | {"token_secret": "0" * 64}),
        )
    )
    with pytest.raises(ErpLoginRefused, match="INVALID_LOGIN|Invalid login"):
        ErpClient(f"{sandbox.url}/netsuite", wrong, retries=0).upsert(
            "invoice", "TBA-2", invoice_body(), "corr-2"
        )
    assert suiteql(sandbox, "select id from transaction where externalid = 'TBA-2'") == []


def test_a_write_whose_answer_was_lost_is_resent_signed_afresh(sandbox):
    """The write commits, its answer comes too late, the client tries again: a new nonce, so
    the ERP takes the retry (a replayed signature would be an invalid login)."""
    plan = {"netsuite": {"erp_commit_then_timeout": 1.0}}
    assert requests.post(f"{sandbox.url}/_sandbox/faults", json=plan, timeout=10).ok
    requests.delete(f"{sandbox.url}/_sandbox/requests", timeout=10)
    client = ErpClient(f"{sandbox.url}/netsuite", NETSUITE_TBA, retries=2, backoff=0, timeout=1)
    with pytest.raises(ErpUnavailable):
        client.upsert("invoice", "LATE-1", invoice_body(), "corr-late")
    puts: list[dict] = []
    for _ in range(100):  # the late answers are logged when they finally go out
        log = requests.get(f"{sandbox.url}/_sandbox/requests", timeout=10).json()["requests"]
        puts = [entry for entry in log if entry["method"] == "PUT"]
        if len(puts) == 3:
            break
        time.sleep(0.2)
    assert len(puts) == 3 and {entry["status"] for entry in puts} == {204}
    # every attempt of the write went with its correlation id
    assert {entry["correlation_id"] for entry in puts} == {"corr-late"}
    assert requests.post(f"{sandbox.url}/_sandbox/faults", json={}, timeout=10).ok
    assert client.upsert("invoice", "LATE-1", invoice_body(), "corr-late") is None


# ------------------------------------------------------------------ billing corrections


def line_keys(server, external_id) -> list[int]:
    """The keys of a record's lines: a rewrite gives its lines new ones."""
    with server.store.connect() as conn:
        rows = conn.execute(
            "select uniquekey from netsuite_transactionline l join netsuite_transaction t on "
            't.id = l."transaction" where t.externalid = ? order by uniquekey',
            (external_id,),
        ).fetchall()
    return [row[0] for row in rows]


def links(server, nextdoc) -> list[dict]:
    with server.store.connect() as conn:
        rows = conn.execute(
            "select * from netsuite_previoustransactionlink where nextdoc = ? order by previousdoc",
            (nextdoc,),
        ).fetchall()
    return [dict(row) for row in rows]


@pytest.mark.parametrize("record_type", ["invoice", "creditMemo"])
def test_lines_keep_what_they_bill_and_the_correction_they_put_right(sandbox, record_type):
    body = invoice_body() | {"item": correction_lines()}
    assert put_record(sandbox, record_type, "CORR-1", body).status_code == 204
    assert post(sandbox, record_type, record=body | {"memo": "posted"}).status_code == 204
    stored = read_record(sandbox, record_type, "CORR-1")
    fields = [
        {k: v for k, v in line.items() if k.startswith("custcol_") and v is not None}
        for line in stored["item"]["items"]
    ]
    assert fields == [
        {"custcol_time_entry_id": 1, "custcol_psa_correction_id": "c-time"},
        {"custcol_expense_id": 2, "custcol_psa_correction_id": "c-exp"},
        {"custcol_milestone_id": 3, "custcol_psa_correction_id": "c-ms"},
    ]
    served = suiteql(
        sandbox,
        "select tl.custcol_psa_correction_id, tl.custcol_expense_id, tl.custcol_milestone_id "
        "from transactionline tl join transaction t on t.id = tl.transaction "
        "where t.externalid = 'CORR-1' and tl.mainline = 'F' order by tl.linesequencenumber",
    )
    assert [row.get("custcol_psa_correction_id") for row in served] == ["c-time", "c-exp", "c-ms"]
    assert served[1]["custcol_expense_id"] == "2" and served[2]["custcol_milestone_id"] == "3"
    corrected = suiteql(
        sandbox,
        "select count(*) as n from transactionline where custcol_psa_correction_id is not null",
    )
    assert corrected[0]["n"] == "6"  # the two written records' lines; the firm's own have none

    # the same body again changes nothing (the lines keep their keys); another correction id
    # is a change
    keys = line_keys(sandbox, "CORR-1")
    assert put_record(sandbox, record_type, "CORR-1", body).status_code == 204
    assert line_keys(sandbox, "CORR-1") == keys
    body["item"]["items"][2]["custcol_psa_correction_id"] = "c-ms-2"
    assert put_record(sandbox, record_type, "CORR-1", body).status_code == 204
    assert line_keys(sandbox, "CORR-1") != keys
    again = read_record(sandbox, record_type, "CORR-1")
    assert again["item"]["items"][2]["custcol_psa_correction_id"] == "c-ms-2"


def test_a_credit_memo_is_applied_as_the_firms_own_are_and_a_re_put_replaces_its_links(sandbox):
    first, _ = firm_invoices(sandbox)
    body = credit_memo_body(first, (str(first["id"]), "12.50"))
    assert put_record(sandbox, "creditMemo", "CM-1", body).status_code == 204
    memo = read_record(sandbox, "creditMemo", "CM-1")
    assert memo["createdFrom"] == {"id": str(first["id"])}
    assert memo["apply"] == {
        "items": [{"doc": {"id": str(first["id"])}, "apply": True, "amount": "12.50"}]
    }
    memo_id = int(memo["id"])
    # stored as billing.py stores a firm credit memo's application
    with sandbox.store.connect() as conn:
        seeded = conn.execute(
            "select l.*, t.trandate from netsuite_previoustransactionlink l "
            "join netsuite_transaction t on t.id = l.nextdoc where t.type = 'CustCred' limit 1"
        ).fetchone()
    (link,) = links(sandbox, memo_id)
    assert link == {
        "nextdoc": memo_id,
        "previousdoc": first["id"],
        "linktype": seeded["linktype"],
        "foreignamount": "12.50",
        "linkdate": "2026-06-30",
        "lastmodifieddate": memo["lastModifiedDate"],
    }
    assert seeded["linkdate"] == seeded["trandate"]
    # SuiteQL shows createdfrom on the main line and the application, as for the firm's own
    (main,) = suiteql(
        sandbox,
        f"select createdfrom from transactionline where transaction = {memo_id} and mainline = 'T'",
    )
    assert main["createdfrom"] == str(first["id"])
    applied = suiteql(
        sandbox,
        f"select previousdoc, foreignamount from previoustransactionlink where nextdoc = {memo_id}",
    )
    assert applied == [{"links": [], "previousdoc": str(first["id"]), "foreignamount": "12.50"}]

    # the same body again: nothing changes, no second link
    keys = line_keys(sandbox, "CM-1")
    assert put_record(sandbox, "creditMemo", "CM-1", body).status_code == 204
    assert line_keys(sandbox, "CM-1") == keys
    assert links(sandbox, memo_id) == [link]
    # another amount replaces the link; an unapplied element applies nothing
    changed = credit_memo_body(first, (str(first["id"]), "30.00"))
    changed["apply"]["items"].append({"doc": {"id": "1"}, "apply": False, "amount": "5.00"})
    assert put_record(sandbox, "creditMemo", "CM-1", changed).status_code == 204
    assert [(row["previousdoc"], row["foreignamount"]) for row in links(sandbox, memo_id)] == [
        (first["id"], "30.00")
    ]
    # applied to nothing: no links left
    assert put_record(sandbox, "creditMemo", "CM-1", credit_memo_body(first)).status_code == 204
    assert links(sandbox, memo_id) == []


def test_refused_applications_change_nothing(sandbox):
    first, other = firm_invoices(sandbox)
    with sandbox.store.connect() as conn:
        (payment,) = conn.execute(
            "select id from netsuite_transaction where type = 'CustPymt' limit 1"
        ).fetchone()
    own = str(first["id"])
    refused = {
        "unknown invoice": credit_memo_body(first, ("99999999", "1.00")),
        "not an invoice": credit_memo_body(first, (str(payment), "1.00")),
        "another customer's invoice": credit_memo_body(first, (str(other["id"]), "1.00")),
        "more than the credit memo": credit_memo_body(first, (own, "30.01")),
        "the same invoice twice": credit_memo_body(first, (own, "1.00"), (own, "2.00")),
        "nothing applied": credit_memo_body(first, (own, "0.00")),
        "created from an unknown invoice": credit_memo_body(first)
        | {"createdFrom": {"id": "99999999"}},
        "created from another customer's": credit_memo_body(first)
        | {"createdFrom": {"id": str(other["id"])}},
        "an invoice applied": invoice_body() | {"apply": {"items": []}},
    }
    before = records(sandbox)
    for reason, body in refused.items():
        record_type = "invoice" if reason == "an invoice applied" else "creditMemo"
        for answer in (
            put_record(sandbox, record_type, "CM-REFUSED", body),
            post(sandbox, record_type, record=body),
        ):
            assert answer.status_code == 400, reason
            (detail,) = answer.json()["o:errorDetails"]
            assert detail["o:errorCode"] == "INVALID_FIELD_VALUE", reason
    assert records(sandbox) == before
    with sandbox.store.connect() as conn:
        assert not conn.execute(
            "select count(*) from netsuite_previoustransactionlink where nextdoc > 90000000"
        ).fetchone()[0]
