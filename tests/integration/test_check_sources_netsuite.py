"""check-sources against the sandbox ERP: what a user sees for a good NetSuite setup, a TBA
signature NetSuite refuses, a role that may not see a record, a date format set wrong, and an
ERP that keeps failing."""

from dataclasses import replace

import requests

from psa_pipeline.settings import Settings
from psa_pipeline.sources.netsuite import RESOURCES
from psa_pipeline.sources.probes import check_sources
from tests.conformance.replay import Exchange, ReplayServer, fixture
from tests.helpers import settings_for


def netsuite_findings(sandbox, tmp_path, **endpoint_changes):
    settings = settings_for(sandbox, tmp_path / "data")
    endpoint = replace(settings.source("netsuite"), **endpoint_changes)
    settings = replace(settings, sources={**settings.sources, "netsuite": endpoint})
    return check_sources(settings, ("netsuite",), timeout_s=10, attempts=2)


def test_every_query_answers_as_the_connector_reads_it(sandbox, tmp_path):
    findings = netsuite_findings(sandbox, tmp_path)
    assert [f.endpoint for f in findings] == [f"SuiteQL {name}" for name in RESOURCES]
    assert all(f.ok for f in findings), findings
    log = requests.get(f"{sandbox.url}/_sandbox/requests", timeout=10).json()["requests"]
    assert {entry["query"] for entry in log} == {"limit=1"}


def test_a_refused_signature_is_the_credential_refused(sandbox, tmp_path):
    (finding,) = netsuite_findings(sandbox, tmp_path, token_secret="0" * 64)
    assert not finding.ok and finding.message.startswith("credential refused (401")
    assert "Unauthorized" in finding.message and "__TOKEN_SECRET" in finding.message


def test_a_record_the_role_cannot_see_is_a_missing_permission_named(sandbox, tmp_path):
    assert requests.post(
        f"{sandbox.url}/_sandbox/permissions", json={"netsuite": ["customer"]}, timeout=10
    ).ok
    findings = {f.endpoint: f for f in netsuite_findings(sandbox, tmp_path)}
    denied = findings.pop("SuiteQL customers")
    assert not denied.ok and denied.message.startswith("permission missing (400")
    assert "Lists > Customers" in denied.message
    assert all(f.ok for f in findings.values())


def test_the_probes_read_dates_whatever_the_date_format_setting(sandbox, tmp_path):
    """Every date is asked for through TO_CHAR, so the account's format never reaches the
    connector from its own queries: a wrong setting alone is no problem."""
    findings = netsuite_findings(sandbox, tmp_path, date_format="DD.MM.YYYY")
    assert all(f.ok for f in findings), findings


def test_an_erp_that_keeps_failing_is_busy_not_broken(sandbox, tmp_path):
    assert requests.post(
        f"{sandbox.url}/_sandbox/faults", json={"netsuite": {"http_503": 1.0}}, timeout=10
    ).ok
    findings = netsuite_findings(sandbox, tmp_path)
    assert findings and all("503" in f.message and "try again later" in f.message for f in findings)


def test_dates_in_a_format_other_than_the_setting_are_a_format_problem(tmp_path):
    """A tenant whose SuiteQL answers 3/2/2026 while the setting says DD.MM.YYYY (replayed
    from the conformance fixtures): named, with the setting to change."""
    page = fixture("netsuite", "invoices.json")
    with ReplayServer([Exchange("POST", "/services/rest/query/v1/suiteql", page)]) as vendor:
        settings = Settings(data_dir=tmp_path).with_sandbox(vendor.url)
        endpoint = replace(
            settings.source("netsuite"), base_url=vendor.url, date_format="DD.MM.YYYY"
        )
        settings = replace(settings, sources={**settings.sources, "netsuite": endpoint})
        findings = check_sources(settings, ("netsuite",), timeout_s=10, attempts=1)
    invoices = next(f for f in findings if f.endpoint == "SuiteQL invoices")
    assert not invoices.ok and "a format the connector does not expect" in invoices.message
    assert "'3/2/2026'" in invoices.message and "SOURCES__NETSUITE__DATE_FORMAT" in invoices.message
