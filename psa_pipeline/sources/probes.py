"""`psa-pipeline check-sources`: one cheap request per endpoint a source will read, before the
first real run, and what is wrong in words a user can act on.

Each source module describes its own probes (`probes(endpoint: SourceEndpoint) -> SourceProbes`): how it reaches
the vendor (base URL, authentication, headers: the same as its dlt source uses) and, per
endpoint it reads, the smallest request that proves the endpoint answers (one record, one day,
`limit=1`) with what its answer must hold. `check_sources` sends them and sorts each answer:

- no connection (refused, DNS, TLS, time-out): the system is unreachable at its base URL;
- 401: the credential is refused (a wrong or expired token);
- 403 (and the vendor's own permission errors, which a probe can recognise): the credential
  lacks a permission, named in the probe's words (BambooHR's compensation table, a NetSuite
  role's record access);
- 404: the base URL, account or company is wrong;
- 429 and 5xx, after a short retry: the vendor is busy or failing; try again later;
- 2xx with an answer the connector would not read (not JSON, XML where JSON was asked for, a
  missing field): the format the connector does not expect, named.

A system whose base URL is unreachable or whose credential is refused is not probed further:
every other probe would say the same thing.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests

from psa_pipeline.settings import SYSTEMS, Settings


class PermissionMissing(str):
    """What a format check returns when a 2xx answer shows the credential lacks a permission:
    a vendor that answers a narrower credential with less data, not a 403 (Harvest lists a
    member's own time entries only; BambooHR leaves out the fields a user may not see)."""


# A format check: the problem with a 2xx answer, in words, or None when the connector reads it.
FormatCheck = Callable[[requests.Response], str | None]


RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
DENIED = "permission missing"


@dataclass(frozen=True)
class Probe:
    """The cheapest request that proves one endpoint answers in the format the source reads."""

    endpoint: str  # what the user reads: "time entries"
    method: str
    path: str  # relative to the system's API base URL, as its source builds it
    expect: FormatCheck
    params: Mapping[str, Any] = field(default_factory=dict)
    json: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    permission: str = ""  # what the credential needs for this endpoint, in the vendor's words
    # a vendor that says "no permission" some other way than 403 (NetSuite's 400 for a record
    # the role cannot see): the text of such an error, matched case-insensitively
    denied_when: tuple[str, ...] = ()


@dataclass(frozen=True)
class SourceProbes:
    """How to reach one system (as its dlt source does) and what to ask it."""

    base_url: str  # ends with "/"; probe paths are joined to it
    auth: requests.auth.AuthBase | None
    headers: Mapping[str, str]
    probes: tuple[Probe, ...]
    settings_hint: str  # where the user sets this system up (environment variables)


@dataclass(frozen=True)
class Finding:
    system: str
    endpoint: str
    ok: bool
    message: str

    def __str__(self) -> str:
        return (
            f"{self.system:<9} {'ok' if self.ok else 'PROBLEM':<8} {self.endpoint}: {self.message}"
        )


def json_with(*paths: str) -> FormatCheck:
    """An answer that is JSON and holds every dotted path (`paging`, `links.next` may be null
    but must be there)."""

    def check(response: requests.Response) -> str | None:
        kind = response.headers.get("Content-Type", "")
        if "json" not in kind:
            return f"the answer is {kind or 'of no declared type'}, not JSON"
        try:
            body = response.json()
        except ValueError:
            return "the answer says JSON but does not parse as JSON"
        for path in paths:
            value: Any = body
            for part in path.split("."):
                if not isinstance(value, dict) or part not in value:
                    return f"the answer has no '{path}'"
                value = value[part]
        return None

    return check


def check_sources(
    settings: Settings,
    systems: tuple[str, ...] = SYSTEMS,
    timeout_s: float = 15.0,
    attempts: int = 3,
) -> list[Finding]:
    """Probe every endpoint of each system; one Finding per endpoint (or one per system that
    could not be reached or refused the credential)."""
    findings: list[Finding] = []
    for system in systems:
        source_module = importlib.import_module(f"psa_pipeline.sources.{system}")
        described = source_module.probes(settings.source(system))
        findings += _probe_system(system, described, timeout_s, attempts)
    return findings


def _probe_system(
    system: str, described: SourceProbes, timeout_s: float, attempts: int
) -> list[Finding]:
    findings = []
    with requests.Session() as session:
        session.headers.update(described.headers)
        session.auth = described.auth
        for probe in described.probes:
            finding, stop = _probe(system, described, session, probe, timeout_s, attempts)
            findings.append(finding)
            if stop:
                break
    if len(findings) > 1 and all(f.message.startswith(DENIED) for f in findings):
        # refused everywhere: a credential for another account, not one missing permission
        message = (
            f"every endpoint refused the credential (403): it is not valid for this account, "
            f"or has none of the access the connector needs. Check {described.settings_hint}."
        )
        return [Finding(system, "all endpoints", False, message)]
    return findings


def _probe(
    system: str,
    described: SourceProbes,
    session: requests.Session,
    probe: Probe,
    timeout_s: float,
    attempts: int,
) -> tuple[Finding, bool]:
    """The finding for one probe, and whether probing this system further is pointless."""
    url = described.base_url + probe.path
    hint = described.settings_hint
    response = None
    for attempt in range(1, attempts + 1):
        try:
            response = session.request(
                probe.method,
                url,
                params=probe.params,
                json=probe.json,
                headers=dict(probe.headers),
                timeout=timeout_s,
            )
        except requests.RequestException as error:
            reason = type(error).__name__
            message = (
                f"unreachable: {probe.method} {url} failed ({reason}: {_short(error)}). "
                f"Check the base URL ({hint}) and that this machine can reach it."
            )
            return Finding(system, probe.endpoint, False, message), True
        if response.status_code not in RETRIED_STATUSES or attempt == attempts:
            break
        time.sleep(min(2.0, 0.5 * attempt))
    assert response is not None
    status = response.status_code
    says = _vendor_says(response)
    if status == 401:
        message = (
            f"credential refused (401{says}). Check the token or key ({hint}); it may be "
            f"wrong, expired or for another account."
        )
        return Finding(system, probe.endpoint, False, message), True
    if status == 403 or (
        status == 400 and any(text.lower() in response.text.lower() for text in probe.denied_when)
    ):
        needs = f" It needs: {probe.permission}." if probe.permission else ""
        message = f"{DENIED} ({status}{says}): the credential cannot read this.{needs}"
        return Finding(system, probe.endpoint, False, message), False
    if status == 404:
        message = (
            f"not found (404{says}) at {url}. Check the base URL and account or company ({hint})."
        )
        return Finding(system, probe.endpoint, False, message), True
    if status in RETRIED_STATUSES:
        message = (
            f"the vendor answered {status}{says} {attempts} times: it is busy or failing; "
            f"try again later."
        )
        return Finding(system, probe.endpoint, False, message), False
    if not 200 <= status < 300:
        message = f"unexpected answer {status}{says} to {probe.method} {url}."
        return Finding(system, probe.endpoint, False, message), False
    problem = probe.expect(response)
    if isinstance(problem, PermissionMissing):
        needs = f" It needs: {probe.permission}." if probe.permission else ""
        message = f"{DENIED} ({status}): {problem.rstrip('.')}.{needs}"
        return Finding(system, probe.endpoint, False, message), False
    if problem is not None:
        message = f"a format the connector does not expect: {problem} ({probe.method} {url})."
        return Finding(system, probe.endpoint, False, message), False
    return Finding(system, probe.endpoint, True, "answers as expected"), False


def _vendor_says(response: requests.Response) -> str:
    """The first line of what the vendor said, for the user to quote to its support: its body,
    or for a vendor that answers errors with an empty body, its error header (BambooHR's
    `X-BambooHR-Error-Message`)."""
    headers = (
        value for name, value in response.headers.items() if name.lower().endswith("error-message")
    )
    text = " ".join(response.text.split()) or next(headers, "")
    return f": {text[:400]}" if text else ""


def _short(error: Exception) -> str:
    return " ".join(str(error).split())[:200]


def render(findings: list[Finding]) -> str:
    problems = sum(not f.ok for f in findings)
    lines = [str(f) for f in findings]
    lines.append(
        "every source answers as the connectors expect"
        if not problems
        else f"{problems} problem(s): fix them before the first run"
    )
    return "\n".join(lines)
