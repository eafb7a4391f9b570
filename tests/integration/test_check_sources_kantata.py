"""`psa-pipeline check-sources` against the sandbox's Kantata: what a user is told, per endpoint,
when the token is wrong, lacks a permission, the base URL is wrong, or Kantata is failing."""

from dataclasses import replace

import requests

from psa_pipeline.settings import SANDBOX_TOKEN, SourceEndpoint
from psa_pipeline.sources.kantata import COLLECTIONS
from psa_pipeline.sources.probes import check_sources
from tests.helpers import settings_for

ENDPOINTS = ["account permission", *(c.name.replace("_", " ") for c in COLLECTIONS)]


def findings(server, tmp_path, token: str = SANDBOX_TOKEN, path: str = "/kantata"):
    """check-sources for Kantata at `path` on the sandbox with `token`, by endpoint."""
    endpoint = SourceEndpoint(base_url=server.url + path, access_token=token)
    settings = settings_for(server, tmp_path)
    settings = replace(settings, sources={**settings.sources, "kantata": endpoint})
    return {f.endpoint: f for f in check_sources(settings, ("kantata",), attempts=2)}


def deny(server, *permissions: str) -> None:
    denied = {"kantata": list(permissions)}
    assert requests.post(f"{server.url}/_sandbox/permissions", json=denied, timeout=10).ok


def test_every_endpoint_the_source_reads_answers_as_expected(sandbox, tmp_path):
    found = findings(sandbox, tmp_path)
    assert list(found) == ENDPOINTS
    assert all(f.ok for f in found.values()), [str(f) for f in found.values()]
    asked = requests.get(f"{sandbox.url}/_sandbox/requests", timeout=10).json()["requests"]
    stories = next(e for e in asked if e["path"].endswith("/stories.json"))
    assert "all_on_account=true" in stories["query"] and "per_page=1" in stories["query"]


def test_a_wrong_token_is_refused_once_for_the_whole_system(sandbox, tmp_path):
    found = findings(sandbox, tmp_path, token="not-the-token")
    assert list(found) == ["all endpoints"]
    assert "refused the credential (403)" in found["all endpoints"].message
    assert "SOURCES__KANTATA__ACCESS_TOKEN" in found["all endpoints"].message


def test_a_user_who_is_not_an_administrator_is_told_what_it_would_miss(sandbox, tmp_path):
    deny(sandbox, "administrator")
    found = findings(sandbox, tmp_path)
    account = found["account permission"]
    assert not account.ok and "not an account Administrator (project_lead)" in account.message
    for name in ("rate card set versions", "rate card versions", "rate card roles"):
        assert not found[name].ok and found[name].message.startswith("permission missing (403")
        assert "Administrator on the Kantata account" in found[name].message
    assert found["workspaces"].ok and found["rate cards"].ok  # answered: fewer, not refused


def test_a_user_without_financial_access_is_refused_the_rate_cards(sandbox, tmp_path):
    deny(sandbox, "administrator", "financial access")
    found = findings(sandbox, tmp_path)
    assert "(collaborator)" in found["account permission"].message
    assert "Financial access (Project Lead or higher)" in found["rate card sets"].message
    assert not found["rate cards"].ok and found["users"].ok


def test_a_wrong_base_url_is_a_404_for_the_whole_system(sandbox, tmp_path):
    """The base URL given with `api/v1` already on it: Kantata's 404, said once."""
    found = findings(sandbox, tmp_path, path="/kantata/api/v1")
    (only,) = found.values()
    assert not only.ok and only.message.startswith("not found (404") and "Not found" in only.message


def test_a_failing_kantata_is_reported_per_endpoint_as_busy(sandbox, tmp_path):
    plan = {"kantata": {"http_503": 1.0}}
    assert requests.post(f"{sandbox.url}/_sandbox/faults", json=plan, timeout=10).ok
    found = findings(sandbox, tmp_path)
    assert list(found) == ENDPOINTS
    assert all(not f.ok and "answered 503" in f.message for f in found.values())
