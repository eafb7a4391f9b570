"""`check-sources` for HubSpot: one cheap request per object type the source reads, and what is
wrong in HubSpot's own words (a refused token, a scope the private app lacks, throttling)."""

from dataclasses import replace

import requests

from psa_pipeline.sandbox.hubspot import CONTRACTS_TYPE_ID
from psa_pipeline.settings import SourceEndpoint
from psa_pipeline.sources.probes import check_sources
from tests.conformance.harness import settings_for_vendor
from tests.conformance.replay import Exchange, ReplayServer
from tests.helpers import settings_for

ENDPOINTS = [
    "deals",
    "companies",
    "line items",
    "contracts (p_contracts)",
    "deals search",
    "companies search",
]


def hubspot_findings(settings, **kwargs):
    return check_sources(settings, systems=("hubspot",), **kwargs)


def with_hubspot(settings, **changes):
    endpoint = replace(settings.source("hubspot"), **changes)
    return replace(settings, sources={**settings.sources, "hubspot": endpoint})


def test_every_object_type_the_source_reads_answers_as_expected(sandbox, tmp_path):
    findings = hubspot_findings(settings_for(sandbox, tmp_path))
    assert [f.endpoint for f in findings] == ENDPOINTS
    assert all(f.ok for f in findings), [str(f) for f in findings]
    asked = requests.get(f"{sandbox.url}/_sandbox/requests", timeout=10).json()["requests"]
    searches = [e for e in asked if e["path"].endswith("/search")]
    assert len(searches) == 2 and all('"value": "1000"' in e["body"] for e in searches)


def test_a_refused_token_is_said_once_in_hubspots_words(sandbox, tmp_path):
    settings = with_hubspot(settings_for(sandbox, tmp_path), access_token="pat-na1-revoked")
    (finding,) = hubspot_findings(settings)
    assert not finding.ok and finding.message.startswith("credential refused (401")
    assert "Authentication credentials not found" in finding.message  # HubSpot's words
    assert "SOURCES__HUBSPOT__ACCESS_TOKEN" in finding.message


def test_a_missing_scope_names_the_object_and_the_scope(sandbox, tmp_path):
    denied = {"hubspot": ["crm.objects.custom.read"]}
    assert requests.post(f"{sandbox.url}/_sandbox/permissions", json=denied, timeout=10).ok
    findings = {f.endpoint: f for f in hubspot_findings(settings_for(sandbox, tmp_path))}
    contracts = findings["contracts (p_contracts)"]
    assert not contracts.ok and contracts.message.startswith("permission missing (403")
    assert "hasn't been granted all required scopes" in contracts.message  # HubSpot's words
    assert "crm.objects.custom.read" in contracts.message
    assert all(f.ok for name, f in findings.items() if name != "contracts (p_contracts)")


def test_the_contracts_object_probed_is_the_one_configured(sandbox, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCES__HUBSPOT__CONTRACTS_OBJECT", CONTRACTS_TYPE_ID)
    findings = {f.endpoint: f for f in hubspot_findings(settings_for(sandbox, tmp_path))}
    assert findings[f"contracts ({CONTRACTS_TYPE_ID})"].ok
    monkeypatch.setenv("SOURCES__HUBSPOT__CONTRACTS_OBJECT", "p_agreements")
    findings = {f.endpoint: f for f in hubspot_findings(settings_for(sandbox, tmp_path))}
    wrong = findings["contracts (p_agreements)"]
    assert not wrong.ok and "Unable to infer object type from: p_agreements" in wrong.message


def test_throttling_says_try_again_later(sandbox, tmp_path):
    plan = {"hubspot": {"http_429": 1.0}}
    assert requests.post(f"{sandbox.url}/_sandbox/faults", json=plan, timeout=10).ok
    findings = hubspot_findings(settings_for(sandbox, tmp_path), attempts=2)
    assert len(findings) == len(ENDPOINTS)
    assert all(not f.ok and "answered 429" in f.message for f in findings)
    assert all("RATE_LIMIT" in f.message for f in findings)


def test_properties_that_are_not_text_are_a_format_the_connector_does_not_expect(tmp_path):
    record = {
        "id": "1",
        "properties": {"amount": 500, "dealname": "x"},  # a number, where HubSpot sends text
        "createdAt": "2023-02-24T03:01:01.147Z",
        "updatedAt": "2023-02-24T03:01:01.711Z",
        "archived": False,
    }
    listing = Exchange("GET", "/crm/v3/objects/deals", {"results": [record]})
    with ReplayServer([listing]) as vendor:
        endpoint = SourceEndpoint(base_url=vendor.url, access_token="pat-na1-x")
        settings = settings_for_vendor("hubspot", tmp_path, endpoint)
        deals = hubspot_findings(settings)[0]
    assert deals.endpoint == "deals" and not deals.ok
    assert "properties ['amount'] are not text" in deals.message
