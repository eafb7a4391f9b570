"""Credential checks in each vendor's scheme: 401 without a credential, 403 with a wrong one."""

from __future__ import annotations

import secrets

from fastapi import HTTPException, Request


def require_bearer(request: Request) -> None:
    expected = request.app.state.token
    header = request.headers.get("authorization", "")
    scheme, _, presented = header.partition(" ")
    if scheme.lower() != "bearer" or not presented:
        raise HTTPException(401, "Missing bearer token", headers={"WWW-Authenticate": "Bearer"})
    if not secrets.compare_digest(presented.encode(), expected.encode()):
        raise HTTPException(403, "The bearer token is not valid for this account")


def lacks(request: Request, system: str, permission: str) -> bool:
    """Whether the sandbox was told (`POST /_sandbox/permissions`) that the credential lacks
    this permission: each system answers that as its vendor does (a 403, NetSuite's 400)."""
    return permission in request.app.state.denied.get(system, ())
