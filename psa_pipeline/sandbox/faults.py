"""Faults on demand, seeded so that a failing test replays the same way.

A plan gives, per system, the probability of each fault kind. Each system draws from its own
random stream, one draw per request in arrival order, so the same requests meet the same faults.

Kinds:
  http_429                  429 Too Many Requests with Retry-After (the vendors' throttling)
  http_503                  503 Service Unavailable with Retry-After
  http_500                  500 Internal Server Error
  slow                      the answer comes, late (`slow_seconds`)
  dropped_connection        the answer starts, then the connection is cut mid-body
  erp_commit_then_timeout   (writes only) the write commits, then the answer comes too late
  erp_refuse_write          (writes only) the ERP refuses the record (400, in the vendor's own
                            error shape): nothing is written; a dead letter for the writer

The layer is plain ASGI: cutting a connection needs control of the messages sent. Every
request's fault, if any, is put in `scope["state"]["fault"]` for the request log.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
from collections.abc import Callable, Mapping

KINDS = (
    "http_429",
    "http_503",
    "http_500",
    "slow",
    "dropped_connection",
    "erp_commit_then_timeout",
    "erp_refuse_write",
)
WRITE_ONLY = {"erp_commit_then_timeout", "erp_refuse_write"}
REFUSAL_STATUS = 400
RETRY_AFTER_SECONDS = 1
WRITE_METHODS = {"PUT", "POST", "PATCH", "DELETE"}


class FaultPlanError(ValueError):
    """A fault plan that names an unknown system or kind, or a rate outside [0, 1]."""


class Faults:
    def __init__(
        self,
        seed: int,
        systems: tuple[str, ...],
        slow_seconds: float = 2.0,
        late_answer_seconds: float = 5.0,
    ):
        self._seed = seed
        self.systems = systems
        self.slow_seconds = slow_seconds
        self.late_answer_seconds = late_answer_seconds
        self._lock = threading.Lock()
        self.set({})

    def set(self, plan: dict[str, dict[str, float]]) -> None:
        """Replace the plan; every system's random stream starts again from the seed."""
        for system, rates in plan.items():
            if system not in self.systems:
                raise FaultPlanError(f"unknown system {system!r}; choose from {list(self.systems)}")
            for kind, rate in rates.items():
                if kind not in KINDS:
                    raise FaultPlanError(f"unknown fault {kind!r}; choose from {list(KINDS)}")
                if not 0 <= rate <= 1:
                    raise FaultPlanError(f"rate for {system}.{kind} must be within [0, 1]")
            if sum(rates.values()) > 1:
                raise FaultPlanError(f"the rates for {system} add up to more than 1")
        with self._lock:
            self._plan = {system: dict(rates) for system, rates in plan.items()}
            self._streams = {s: random.Random(f"{self._seed}:{s}") for s in self.systems}

    @property
    def plan(self) -> dict[str, dict[str, float]]:
        with self._lock:
            return {system: dict(rates) for system, rates in self._plan.items()}

    def draw(self, system: str, method: str) -> str | None:
        """The fault this request meets, if any: one draw per request of the system."""
        with self._lock:
            rates = self._plan.get(system)
            if not rates:
                return None
            roll = self._streams[system].random()
        threshold = 0.0
        for kind in KINDS:
            if kind in WRITE_ONLY and method not in WRITE_METHODS:
                continue
            threshold += rates.get(kind, 0.0)
            if roll < threshold:
                return kind
        return None


def system_of(path: str, systems: tuple[str, ...]) -> str | None:
    first = path.strip("/").split("/", 1)[0]
    return first if first in systems else None


# A vendor's own answer to an injected error status: (body, extra headers), or None for the
# generic one. HubSpot throttles with its own body and headers and no Retry-After.
VendorAnswer = Callable[[int], tuple[bytes, list[tuple[bytes, bytes]]] | None]


class FaultMiddleware:
    """Answers a request with the fault it draws, or passes it through untouched."""

    def __init__(
        self, app, faults: Faults, vendor_answers: Mapping[str, VendorAnswer] | None = None
    ):
        self.app = app
        self.faults = faults
        self.vendor_answers = vendor_answers or {}

    async def __call__(self, scope, receive, send):
        system = system_of(scope["path"], self.faults.systems) if scope["type"] == "http" else None
        kind = self.faults.draw(system, scope["method"]) if system else None
        if kind is None:
            return await self.app(scope, receive, send)
        scope.setdefault("state", {})["fault"] = kind
        if kind == "slow":
            await asyncio.sleep(self.faults.slow_seconds)
            return await self.app(scope, receive, send)
        if kind == "erp_commit_then_timeout":
            held = []
            await self.app(scope, receive, self._hold(held))  # the write happens...
            await asyncio.sleep(self.faults.late_answer_seconds)  # ...the answer is too late
            for message in held:
                await send(message)
            return None
        if kind == "dropped_connection":
            return await _drop(send)
        status = REFUSAL_STATUS if kind == "erp_refuse_write" else int(kind.removeprefix("http_"))
        answer = self.vendor_answers.get(system)
        return await _error(send, status, kind, system, answer(status) if answer else None)

    @staticmethod
    def _hold(held: list):
        async def send(message):
            held.append(message)

        return send


async def _error(send, status: int, kind: str, system: str, vendor_answer=None) -> None:
    if vendor_answer is not None:
        body, extra = vendor_answer
    else:
        body = json.dumps({"error": f"injected fault {kind}", "system": system}).encode()
        extra = (
            [(b"retry-after", str(RETRY_AFTER_SECONDS).encode())] if status in (429, 503) else []
        )
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += extra
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _drop(send) -> None:
    """Promise a body, send part of it, and stop: the server has to cut the connection."""
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")],
        }
    )
    await send({"type": "http.response.body", "body": b'{"results": [', "more_body": True})
    raise ConnectionAbortedError("injected fault dropped_connection")
