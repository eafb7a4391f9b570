"""Open (or generate) a firm and serve it over HTTP on loopback.

`SandboxServer` runs uvicorn in a background thread for tests and the demo; `serve` runs it in
the foreground for `psa-pipeline sandbox serve`.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import requests
import uvicorn

from psa_pipeline.sandbox.app import create_app
from psa_pipeline.sandbox.firm import generate
from psa_pipeline.sandbox.kantata import set_account_time_zone
from psa_pipeline.sandbox.plan import FirmConfig
from psa_pipeline.sandbox.store import SCHEMA_VERSION, SandboxStore
from psa_pipeline.sandbox.suiteql import DEFAULT_DATE_FORMAT
from psa_pipeline.settings import SANDBOX_TOKEN


def open_firm(config: FirmConfig, directory: Path) -> SandboxStore:
    """The store for this configuration, generated on first use.

    Generation writes to a temporary file and renames it into place, so a process killed
    half-way never leaves a half-made firm behind; an existing store is reused as it is, which
    is how ERP writes survive a restart.
    """
    store = SandboxStore(Path(directory) / f"firm-{config.key}-v{SCHEMA_VERSION}.sqlite")
    if store.exists():
        return store
    partial = SandboxStore(store.path.with_suffix(f".partial-{os.getpid()}"))
    for leftover in (partial.path, Path(f"{partial.path}-wal"), Path(f"{partial.path}-shm")):
        leftover.unlink(missing_ok=True)
    generate(config, partial)
    with partial.connect() as conn:
        conn.execute("pragma wal_checkpoint(truncate)")
        conn.execute("pragma journal_mode=delete")
    os.replace(partial.path, store.path)
    return store


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class SandboxServer:
    """The sandbox on a background thread: `with SandboxServer(store) as server: server.url`."""

    def __init__(
        self,
        store: SandboxStore,
        host: str = "127.0.0.1",
        port: int | None = None,
        token: str = SANDBOX_TOKEN,
        netsuite_date_format: str = DEFAULT_DATE_FORMAT,
    ):
        self.store = store
        self.host = host
        self.port = port or free_port(host)
        self.token = token
        self._server = uvicorn.Server(
            uvicorn.Config(
                create_app(store, token, netsuite_date_format),
                host=host,
                port=self.port,
                log_level="warning",
                access_log=False,
            )
        )
        self._thread = threading.Thread(target=self._server.run, name="sandbox", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> SandboxServer:
        self._thread.start()
        wait_until_healthy(self.url)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def wait_until_healthy(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if requests.get(f"{url}/_sandbox/health", timeout=2).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):  # not up yet, or a busy machine
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"the sandbox at {url} did not answer /_sandbox/health in {timeout}s"
            )
        time.sleep(0.1)


def serve(
    store: SandboxStore,
    host: str,
    port: int,
    token: str,
    faults: dict,
    kantata_time_zone: str | None = None,
    netsuite_date_format: str = DEFAULT_DATE_FORMAT,
) -> None:
    app = create_app(store, token, netsuite_date_format)
    app.state.faults.set(faults)  # an unknown system or kind fails here, before serving
    if kantata_time_zone:  # an account preference of the firm's PSA
        set_account_time_zone(app, kantata_time_zone)
    uvicorn.run(app, host=host, port=port, log_level="warning")
