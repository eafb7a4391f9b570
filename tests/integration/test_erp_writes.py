"""ERP writes as NetSuite takes them: upsert by external id, create with an idempotency key."""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from psa_pipeline.reverse_sync.erp_client import ErpClient, ErpLoginRefused, ErpUnavailable
from psa_pipeline.settings import SANDBOX_NETSUITE_ACCOUNT_ID, SourceEndpoint, sandbox_tba
from psa_pipeline.sources.netsuite import netsuite_auth
from tests.helpers import AUTH, NETSUITE_TBA, invoice_body, suiteql

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
    assert client.upsert_invoice("TBA-1", invoice_body()) is None
    assert client.read_invoice("TBA-1")["externalId"] == "TBA-1"
    wrong = netsuite_auth(
        SourceEndpoint(
            "",
            "",
            account_id=SANDBOX_NETSUITE_ACCOUNT_ID,
            **(sandbox_tba() | {"token_secret": "0" * 64}),
        )
    )
    with pytest.raises(ErpLoginRefused, match="INVALID_LOGIN|Invalid login"):
        ErpClient(f"{sandbox.url}/netsuite", wrong, retries=0).upsert_invoice(
            "TBA-2", invoice_body()
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
        client.upsert_invoice("LATE-1", invoice_body())
    puts: list[dict] = []
    for _ in range(100):  # the late answers are logged when they finally go out
        log = requests.get(f"{sandbox.url}/_sandbox/requests", timeout=10).json()["requests"]
        puts = [entry for entry in log if entry["method"] == "PUT"]
        if len(puts) == 3:
            break
        time.sleep(0.2)
    assert len(puts) == 3 and {entry["status"] for entry in puts} == {204}
    assert requests.post(f"{sandbox.url}/_sandbox/faults", json={}, timeout=10).ok
    assert client.upsert_invoice("LATE-1", invoice_body()) is None
