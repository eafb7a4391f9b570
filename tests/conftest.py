"""Fixtures shared by every layer of tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from psa_pipeline.sandbox.server import SandboxServer
from tests.helpers import start_sandbox


@pytest.fixture
def sandbox(tmp_path) -> Iterator[SandboxServer]:
    """A fresh small firm per test: ERP writes in one test never leak into another."""
    server = start_sandbox(tmp_path / "sandbox")
    yield server
    server.stop()
