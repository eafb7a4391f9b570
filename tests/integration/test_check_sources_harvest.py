"""`psa-pipeline check-sources` against the sandbox's Harvest: what a user reads when the
token is wrong, belongs to a member, or Harvest is failing."""

from dataclasses import replace

import pytest
import requests

from psa_pipeline.sources.probes import check_sources
from tests.helpers import settings_for

ENDPOINTS = ["access role", "time entries", "expenses", "users", "clients", "projects", "tasks"]


def harvest_findings(settings, **endpoint_changes) -> list:
    harvest = replace(settings.sources["harvest"], **endpoint_changes)
    changed = replace(settings, sources={**settings.sources, "harvest": harvest})
    return check_sources(changed, ("harvest",), timeout_s=10)


@pytest.fixture
def settings(sandbox, tmp_path):
    return settings_for(sandbox, tmp_path / "data")


def test_a_sandbox_administrator_token_passes_every_probe(settings):
    findings = harvest_findings(settings)
    assert [f.endpoint for f in findings] == ENDPOINTS
    assert all(f.ok for f in findings), [str(f) for f in findings]


@pytest.mark.parametrize(
    "wrong", [{"access_token": "not-the-token"}, {"account_id": "999999"}], ids=["token", "account"]
)
def test_a_wrong_token_or_account_is_refused_once_in_words(settings, wrong):
    [finding] = harvest_findings(settings, **wrong)
    assert not finding.ok and finding.endpoint == "access role"
    assert finding.message.startswith("credential refused (401")
    assert "invalid_token" in finding.message and "SOURCES__HARVEST__ACCOUNT_ID" in finding.message


def test_a_members_token_is_named_for_every_list_it_cannot_read_whole(sandbox, settings):
    requests.post(
        f"{sandbox.url}/_sandbox/permissions", json={"harvest": ["administrator"]}, timeout=10
    ).raise_for_status()
    findings = {f.endpoint: f for f in harvest_findings(settings)}
    role = findings["access role"]
    assert not role.ok and role.message.startswith("permission missing (200)")
    assert "a member, not an administrator" in role.message and "Administrator" in role.message
    for endpoint in ("users", "clients", "projects", "tasks"):
        assert findings[endpoint].message.startswith("permission missing (403"), endpoint
        assert "an Administrator" in findings[endpoint].message
    # a member's time and expenses answer (their own): the role finding says why that is not all
    assert findings["time entries"].ok and findings["expenses"].ok


def test_a_failing_harvest_is_reported_as_busy_or_failing(sandbox, settings):
    requests.post(
        f"{sandbox.url}/_sandbox/faults", json={"harvest": {"http_500": 1.0}}, timeout=10
    ).raise_for_status()
    findings = harvest_findings(settings)
    assert [f.endpoint for f in findings] == ENDPOINTS
    assert all(not f.ok and "busy or failing" in f.message for f in findings)


def test_an_unreachable_base_url_is_said_once(settings):
    [finding] = harvest_findings(settings, base_url="http://127.0.0.1:9/harvest")
    assert not finding.ok and finding.message.startswith("unreachable")
    assert "SOURCES__HARVEST__BASE_URL" in finding.message
