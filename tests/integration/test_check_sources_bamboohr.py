"""`check-sources` against the sandbox's BambooHR: what a user reads for each thing that can be
wrong with a real tenant."""

from dataclasses import replace

import requests

from psa_pipeline.sources.probes import check_sources
from tests.helpers import settings_for


def bamboohr(settings, **endpoint):
    """Settings whose BambooHR endpoint has these fields changed."""
    changed = replace(settings.source("bamboohr"), **endpoint)
    return replace(settings, sources={**settings.sources, "bamboohr": changed})


def findings(settings, attempts=3):
    return {f.endpoint: f for f in check_sources(settings, ("bamboohr",), attempts=attempts)}


def test_every_endpoint_answers_as_the_connector_expects(sandbox, tmp_path):
    found = findings(settings_for(sandbox, tmp_path))
    assert set(found) == {
        "employees report",
        "compensation table",
        "compensation fields",
        "time off requests",
    }
    assert all(f.ok for f in found.values()), found
    # each probe asked for the least: no employee came back from any report or table
    log = requests.get(f"{sandbox.url}/_sandbox/requests", timeout=10).json()["requests"]
    assert all(entry["status"] == 200 for entry in log) and len(log) == 4


def test_a_wrong_key_is_a_refused_credential_in_bamboohrs_words(sandbox, tmp_path):
    found = findings(bamboohr(settings_for(sandbox, tmp_path), access_token="not-the-key"))
    (only,) = found.values()  # nothing else is worth asking with a refused key
    assert not only.ok
    assert "credential refused (401: Invalid API key)" in only.message
    assert "SOURCES__BAMBOOHR__ACCESS_TOKEN" in only.message


def test_a_wrong_company_is_a_404_naming_the_setting(sandbox, tmp_path):
    found = findings(bamboohr(settings_for(sandbox, tmp_path), company="someone-else"))
    (only,) = found.values()
    assert "not found (404" in only.message and "SOURCES__BAMBOOHR__COMPANY" in only.message


def test_a_user_who_may_not_see_compensation_is_told_so(sandbox, tmp_path):
    requests.post(
        f"{sandbox.url}/_sandbox/permissions", json={"bamboohr": ["compensation"]}, timeout=10
    ).raise_for_status()
    found = findings(settings_for(sandbox, tmp_path))
    fields = found["compensation fields"]
    assert not fields.ok
    assert fields.message.startswith("permission missing (200)")
    assert "may not see compensation" in fields.message and "Compensation table" in fields.message
    others = [f for name, f in found.items() if name != "compensation fields"]
    assert all(f.ok for f in others)


def test_a_capacity_field_the_tenant_does_not_have_is_named(sandbox, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCES__BAMBOOHR__CAPACITY_FIELD", "customFTE")
    report = findings(settings_for(sandbox, tmp_path))["employees report"]
    assert not report.ok
    assert "leaves out customFTE" in report.message
    assert "SOURCES__BAMBOOHR__CAPACITY_FIELD" in report.message


def test_a_throttled_bamboohr_is_busy_not_broken(sandbox, tmp_path):
    requests.post(
        f"{sandbox.url}/_sandbox/faults", json={"bamboohr": {"http_503": 1.0}}, timeout=10
    ).raise_for_status()
    found = findings(settings_for(sandbox, tmp_path), attempts=2)
    assert found and all(
        "answered 503" in f.message and "try again later" in f.message for f in found.values()
    )


def test_an_unreachable_bamboohr_is_named_with_its_address(tmp_path, sandbox):
    settings = bamboohr(settings_for(sandbox, tmp_path), base_url="http://127.0.0.1:9")
    (only,) = findings(settings).values()
    assert only.message.startswith("unreachable") and "127.0.0.1:9" in only.message
