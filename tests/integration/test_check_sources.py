"""`psa-pipeline check-sources` against the sandbox: what it says when all is well, and when a
base URL, a credential or a vendor is wrong, in words a user can act on."""

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import requests

from psa_pipeline.sandbox.server import SandboxServer, free_port, open_firm
from psa_pipeline.settings import SYSTEMS
from psa_pipeline.sources.probes import check_sources
from tests.helpers import SMALL_FIRM, settings_for

CLI = str(Path(sys.executable).with_name("psa-pipeline"))


def with_source(settings, system: str, **changes):
    endpoint = dataclasses.replace(settings.source(system), **changes)
    return dataclasses.replace(settings, sources={**settings.sources, system: endpoint})


def refused_credential(message: str) -> bool:
    """A vendor refuses a bad token with 401 (most) or 403 on every endpoint (the sandbox's
    rule for some): either way check-sources says the credential was refused."""
    return "credential refused (401" in message or "refused the credential (403)" in message


def by_system(findings) -> dict[str, list]:
    found: dict[str, list] = {}
    for finding in findings:
        found.setdefault(finding.system, []).append(finding)
    return found


def test_every_endpoint_of_every_source_answers_as_expected(sandbox, tmp_path):
    findings = check_sources(settings_for(sandbox, tmp_path))
    assert {f.system for f in findings} == set(SYSTEMS)
    assert all(f.ok for f in findings), [str(f) for f in findings if not f.ok]
    asked = requests.get(f"{sandbox.url}/_sandbox/requests", timeout=10).json()["requests"]
    assert len(asked) == len(findings)  # one cheap request per endpoint, no paging


def test_a_wrong_token_and_an_unreachable_url_are_said_once_per_system(sandbox, tmp_path):
    settings = with_source(settings_for(sandbox, tmp_path), "harvest", access_token="expired")
    settings = with_source(settings, "netsuite", base_url=f"http://127.0.0.1:{free_port()}")
    found = by_system(check_sources(settings))
    (harvest,) = found["harvest"]
    assert not harvest.ok and refused_credential(harvest.message)
    assert "SOURCES__HARVEST__ACCESS_TOKEN" in harvest.message
    (netsuite,) = found["netsuite"]
    assert not netsuite.ok and netsuite.message.startswith("unreachable")
    assert "SOURCES__NETSUITE__BASE_URL" in netsuite.message
    assert all(f.ok for system in ("hubspot", "kantata", "bamboohr") for f in found[system])


def test_a_base_url_that_is_not_the_vendor_says_not_found(sandbox, tmp_path):
    settings = with_source(
        settings_for(sandbox, tmp_path), "kantata", base_url=f"{sandbox.url}/hubspot"
    )
    (kantata,) = check_sources(settings, ("kantata",))
    assert not kantata.ok and kantata.message.startswith("not found (404")


def test_a_vendor_that_keeps_failing_is_busy_not_broken(sandbox, tmp_path):
    requests.post(f"{sandbox.url}/_sandbox/faults", json={"kantata": {"http_503": 1.0}}, timeout=10)
    findings = check_sources(settings_for(sandbox, tmp_path), ("kantata",), attempts=2)
    assert findings and all("answered 503" in f.message for f in findings)
    assert all("try again later" in f.message for f in findings)


def test_the_command_exits_non_zero_when_something_is_wrong(sandbox, tmp_path):
    def run(*env_pairs: tuple[str, str]) -> subprocess.CompletedProcess:
        return subprocess.run(
            [CLI, "check-sources", "--system", "hubspot"],
            env={**os.environ, "PSA_SANDBOX_URL": sandbox.url, **dict(env_pairs)},
            capture_output=True,
            text=True,
            timeout=120,
        )

    fine = run()
    assert fine.returncode == 0 and "every source answers" in fine.stdout
    refused = run(("SOURCES__HUBSPOT__ACCESS_TOKEN", "not-the-token"))
    assert refused.returncode == 1 and refused_credential(refused.stdout)


def test_credentials_can_live_in_dlt_secrets_toml(tmp_path):
    """A token in .dlt/secrets.toml (never in code, never in the Dagster UI) reaches every
    source: the sandbox takes only that token, and nothing else names it."""
    store = open_firm(SMALL_FIRM, tmp_path / "sandbox")
    token = "only-in-secrets-toml"
    (tmp_path / ".dlt").mkdir()
    (tmp_path / ".dlt" / "secrets.toml").write_text(
        "".join(f'[sources.{system}]\naccess_token = "{token}"\n' for system in SYSTEMS)
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__", "PSA_"))}
    with SandboxServer(store, token=token) as server:
        checked = subprocess.run(
            [CLI, "check-sources"],
            cwd=tmp_path,
            env={**env, "PSA_SANDBOX_URL": server.url, "PSA_DATA_DIR": str(tmp_path)},
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "every source answers" in checked.stdout
