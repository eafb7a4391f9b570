"""The sandbox firm's HTTP application: every system under its path prefix on one server.

Besides the vendor dialects it serves `/_sandbox/*`: health, the ground truth (for tests and
the demo scorecard; the pipeline never reads it) and a request log that tests use to count what
a connector asked for.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Annotated

from fastapi import Body, FastAPI, HTTPException, Query, Request

from psa_pipeline.sandbox import bamboohr, harvest, hubspot, kantata, netsuite
from psa_pipeline.sandbox.faults import FaultMiddleware, FaultPlanError, Faults
from psa_pipeline.sandbox.firm import advance
from psa_pipeline.sandbox.plan import FirmConfig
from psa_pipeline.sandbox.store import SandboxStore
from psa_pipeline.sandbox.suiteql import DEFAULT_DATE_FORMAT
from psa_pipeline.settings import SANDBOX_HARVEST_ACCOUNT_ID, SANDBOX_TOKEN

SYSTEMS = ("hubspot", "kantata", "harvest", "bamboohr", "netsuite")


class RequestLog:
    """Method, path, query, body, status and correlation id (the `X-Correlation-ID` header a
    writer sends, as an API gateway would log it) of every request, kept in memory for tests."""

    def __init__(self):
        self._lock = threading.Lock()
        self._entries: list[dict] = []

    def record(
        self,
        method: str,
        path: str,
        query: str,
        body: str,
        status: int,
        fault: str | None,
        correlation_id: str | None = None,
    ) -> None:
        entry = {
            "method": method,
            "path": path,
            "query": query,
            "body": body,
            "status": status,
            "fault": fault,
            "correlation_id": correlation_id,
        }
        with self._lock:
            self._entries.append(entry)

    def snapshot(self) -> list[dict]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def create_app(
    store: SandboxStore, token: str = SANDBOX_TOKEN, netsuite_date_format: str = DEFAULT_DATE_FORMAT
) -> FastAPI:
    app = FastAPI(title="PSA Pipeline sandbox firm", version="1")
    app.state.store = store
    app.state.token = token
    app.state.netsuite_date_format = netsuite_date_format  # the ERP account's date preference
    app.state.harvest_account_id = SANDBOX_HARVEST_ACCOUNT_ID

    def clock() -> str:
        """The firm's "now": the end of its last simulated day, never the wall clock."""
        return f"{store.meta('as_of')}T23:59:59Z"

    app.state.clock = clock
    app.state.request_log = RequestLog()
    app.state.faults = Faults(int(store.meta("seed")), SYSTEMS)
    app.state.denied = {}  # system -> the permissions the credential lacks (check-sources tests)

    app.add_middleware(
        FaultMiddleware,
        faults=app.state.faults,
        vendor_answers={"hubspot": hubspot.fault_answer, "netsuite": netsuite.fault_answer},
    )

    @app.middleware("http")  # added last, so it wraps the fault layer and logs injected faults
    async def log_requests(request: Request, call_next):
        body = (await request.body()).decode(errors="replace")[:4000]
        response = await call_next(request)
        if not request.url.path.startswith("/_sandbox"):
            app.state.request_log.record(
                request.method,
                request.url.path,
                request.url.query,
                body,
                response.status_code,
                getattr(request.state, "fault", None),
                request.headers.get("X-Correlation-ID"),
            )
        return response

    for module in (hubspot, kantata, harvest, bamboohr, netsuite):
        app.include_router(module.router)

    @app.get("/_sandbox/health")
    def health() -> dict:
        return {"status": "ok", "firm": store.meta("key"), "as_of": store.meta("as_of")}

    @app.get("/_sandbox/truth")
    def truth() -> dict:
        rows = store.truth()
        return {"defects": rows, "count": len(rows)}

    @app.get("/_sandbox/requests")
    def requests_made() -> dict:
        entries = app.state.request_log.snapshot()
        counts = Counter(f"{e['method']} {e['path']} {e['status']}" for e in entries)
        return {"requests": entries, "counts": dict(counts), "total": len(entries)}

    @app.delete("/_sandbox/requests", status_code=204)
    def clear_requests() -> None:
        app.state.request_log.clear()

    advancing = threading.Lock()

    @app.post("/_sandbox/advance")
    def advance_clock(days: Annotated[int, Query(ge=1, le=366)]) -> dict:
        """Add `days` days of activity (time, approvals, invoices, deals) and move the clock."""
        with advancing:
            try:
                as_of = advance(store, FirmConfig.of_meta(store.meta), days)
            except ValueError as error:
                raise HTTPException(400, str(error)) from error
        return {"as_of": as_of.isoformat()}

    @app.get("/_sandbox/faults")
    def faults() -> dict:
        return app.state.faults.plan

    @app.post("/_sandbox/faults")
    def set_faults(plan: Annotated[dict[str, dict[str, float]], Body()]) -> dict:
        """Replace the fault plan: {system: {kind: probability}}; {} switches faults off."""
        try:
            app.state.faults.set(plan)
        except FaultPlanError as error:
            raise HTTPException(400, str(error)) from error
        return app.state.faults.plan

    @app.get("/_sandbox/permissions")
    def permissions() -> dict:
        return {system: sorted(denied) for system, denied in app.state.denied.items()}

    @app.post("/_sandbox/permissions")
    def set_permissions(denied: Annotated[dict[str, list[str]], Body()]) -> dict:
        """Take permissions away from the credential: {system: [permission, ...]}, each named
        as that system's module checks it (`sandbox.auth.lacks`); {} gives them all back."""
        unknown = sorted(set(denied) - set(SYSTEMS))
        if unknown:
            raise HTTPException(400, f"unknown systems {unknown}; known: {list(SYSTEMS)}")
        app.state.denied = {system: frozenset(names) for system, names in denied.items()}
        return permissions()

    return app
