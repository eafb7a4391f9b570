"""A vendor's published payloads, served back over loopback HTTP as if from the vendor.

The conformance tests point a connector at a `ReplayServer` instead of the sandbox: it answers
each request with the first `Exchange` that matches it (method, path, query parameters, body
text, headers) and logs every request, so a test can assert both what landed and what the
connector asked for. What it serves is transcribed from the vendors' documentation and from
public clients' fixtures (see fixtures/SOURCES.md), never written by the code under test.

A request no exchange matches is answered 404 with a body that names it, so a connector that
asks for something the fixtures do not cover fails loudly instead of landing nothing.
`{base_url}` in a payload becomes the server's own URL (vendors' next links are absolute).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

FIXTURES = Path(__file__).parent / "fixtures"


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    body: str

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass(frozen=True)
class Exchange:
    """One canned answer and the requests it answers.

    params: query parameters that must be present with exactly these values (a compiled regex
    matches instead); body: regexes the request body must match; headers: header values that
    must be present (lower-case names). `times`: answer at most this many requests (then the
    next matching exchange answers), for a collection that changes between two runs.
    """

    method: str
    path: str
    payload: Any = None  # a dict/list (sent as JSON), str or bytes (sent as is)
    params: Mapping[str, str | re.Pattern] = field(default_factory=dict)
    body: tuple[str, ...] = ()
    headers: Mapping[str, str | re.Pattern] = field(default_factory=dict)
    status: int = 200
    content_type: str = "application/json"
    response_headers: Mapping[str, str] = field(default_factory=dict)
    times: int | None = None

    def matches(self, request: Request) -> bool:
        return (
            self.method == request.method
            and self.path == request.path
            and all(_fits(request.query.get(k), v) for k, v in self.params.items())
            and all(_fits(request.headers.get(k), v) for k, v in self.headers.items())
            and all(re.search(pattern, request.body, re.DOTALL) for pattern in self.body)
        )


def _fits(value: str | None, wanted: str | re.Pattern) -> bool:
    if value is None:
        return False
    return bool(wanted.fullmatch(value)) if isinstance(wanted, re.Pattern) else value == wanted


def fixture(system: str, name: str) -> Any:
    """A fixture file's content: JSON parsed, anything else as text."""
    path = FIXTURES / system / name
    text = path.read_text()
    return json.loads(text) if path.suffix == ".json" else text


class ReplayServer:
    """`with ReplayServer(exchanges) as vendor: vendor.url, vendor.requests`."""

    def __init__(self, exchanges: list[Exchange], host: str = "127.0.0.1"):
        self.exchanges = list(exchanges)
        self.requests: list[Request] = []
        self._used: dict[int, int] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> ReplayServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()

    def asked(self, path: str, method: str | None = None) -> list[Request]:
        return [r for r in self.requests if r.path == path and method in (None, r.method)]

    def answer(self, request: Request) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            self.requests.append(request)
            for index, exchange in enumerate(self.exchanges):
                if exchange.matches(request) and (
                    exchange.times is None or self._used.get(index, 0) < exchange.times
                ):
                    self._used[index] = self._used.get(index, 0) + 1
                    return self._render(exchange)
        detail = {
            "error": "no fixture answers this request",
            "method": request.method,
            "path": request.path,
            "query": request.query,
            "body": request.body[:2000],
        }
        return 404, {"Content-Type": "application/json"}, json.dumps(detail).encode()

    def _render(self, exchange: Exchange) -> tuple[int, dict[str, str], bytes]:
        payload = exchange.payload
        if isinstance(payload, dict | list):
            payload = json.dumps(payload)
        if isinstance(payload, str):
            payload = payload.replace("{base_url}", self.url).encode()
        headers = {"Content-Type": exchange.content_type, **exchange.response_headers}
        return exchange.status, headers, payload or b""

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        replay = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(
                    method=self.command,
                    path=parts.path,
                    query=dict(parse_qsl(parts.query, keep_blank_values=True)),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length).decode(errors="replace") if length else "",
                )
                status, headers, body = replay.answer(request)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

            def log_message(self, *args) -> None:  # quiet: the log is `replay.requests`
                pass

        return Handler
