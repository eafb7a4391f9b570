"""Faults on demand, seeded so that a failing test replays the same way.

A plan gives, per system, the probability of each fault kind. Each system draws from its own
random stream, one draw per request in arrival order, so the same requests meet the same faults.

Kinds:
  http_429                  429 Too Many Requests with Retry-After (the vendors' throttling)
  http_503                  503 Service Unavailable with Retry-After
  http_500                  500 Internal Server Error
  erp_commit_then_timeout   (writes only) the write commits, then the answer comes too late
"""

from __future__ import annotations

import asyncio
import random
import threading

from fastapi import Request
from fastapi.responses import JSONResponse

KINDS = ("http_429", "http_503", "http_500", "erp_commit_then_timeout")
RETRY_AFTER_SECONDS = 1
WRITE_METHODS = {"PUT", "POST", "PATCH", "DELETE"}


class FaultPlanError(ValueError):
    """A fault plan that names an unknown system or kind, or a rate outside [0, 1]."""


class Faults:
    def __init__(self, seed: int, systems: tuple[str, ...], late_answer_seconds: float = 5.0):
        self._seed = seed
        self.systems = systems
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
            if kind == "erp_commit_then_timeout" and method not in WRITE_METHODS:
                continue
            threshold += rates.get(kind, 0.0)
            if roll < threshold:
                return kind
        return None


def system_of(path: str, systems: tuple[str, ...]) -> str | None:
    first = path.strip("/").split("/", 1)[0]
    return first if first in systems else None


async def apply_fault(faults: Faults, request: Request, call_next):
    """Middleware body: answer with the fault the request draws, or pass it through."""
    system = system_of(request.url.path, faults.systems)
    kind = faults.draw(system, request.method) if system else None
    if kind is None:
        return await call_next(request)
    if kind == "erp_commit_then_timeout":
        response = await call_next(request)  # the write happens...
        await asyncio.sleep(faults.late_answer_seconds)  # ...and the answer is too late
        return response
    status = int(kind.removeprefix("http_"))
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if status in (429, 503) else {}
    return JSONResponse(
        status_code=status,
        content={"error": f"injected fault {kind}", "system": system},
        headers=headers,
    )
