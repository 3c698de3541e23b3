"""A real S3 HTTP endpoint on loopback for the tests: moto's server app on werkzeug.

Moto checks If-None-Match and then stores the object in two steps; real S3 does both
atomically. A lock around each request gives moto the same atomicity, so race tests measure
our code, not the stand-in. A second port serves the same backend with If-None-Match
stripped: a server that silently ignores conditional writes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.threaded_moto_server import MotoRequestHandler
from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

# Request lines would land in captured stderr and drown the CLI's own one-line errors.
logging.getLogger("werkzeug").setLevel(logging.ERROR)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class _Serialised:
    def __init__(self, app: WSGIApp, lock: threading.Lock, strip_if_none_match: bool) -> None:
        self.app, self.lock, self.strip = app, lock, strip_if_none_match
        self.requests: list[tuple[str, str, str]] = []  # (method, path, query string)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        if self.strip:
            environ.pop("HTTP_IF_NONE_MATCH", None)
        with self.lock:
            self.requests.append((environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""),
                                  environ.get("QUERY_STRING", "")))
            return list(self.app(environ, start_response))


_FAULTS = {
    403: ("AccessDenied", "Access Denied"),
    500: ("InternalError", "We encountered an internal error. Please try again."),
    503: ("SlowDown", "Please reduce your request rate."),
}


def faulty_app(status: int) -> WSGIApp:
    """An endpoint that answers every request with one S3 error."""
    code, message = _FAULTS[status]
    body = (f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code>'
            f"<Message>{message}</Message></Error>").encode()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        reason = {403: "Forbidden", 500: "Internal Server Error", 503: "Slow Down"}[status]
        start_response(f"{status} {reason}", [("Content-Type", "application/xml"),
                                              ("Content-Length", str(len(body)))])
        return [b"" if environ["REQUEST_METHOD"] == "HEAD" else body]

    return app


class _FaultyReads:
    """Lists and writes work; reading an object fails: an S3 error, or a connection that
    drops in the middle of the body."""

    def __init__(self, inner: WSGIApp, mode: str) -> None:
        self.inner, self.mode = inner, mode

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "").strip("/")
        is_object_get = environ["REQUEST_METHOD"] == "GET" and "/" in path and \
            "list-type" not in environ.get("QUERY_STRING", "")
        if self.mode == "503-view-ranged":
            # Only ranged reads of a view's parts (their footers) are throttled.
            if not (is_object_get and "/stream_view/" in f"/{path}"
                    and environ.get("HTTP_RANGE")):
                return self.inner(environ, start_response)
            return faulty_app(503)(environ, start_response)
        if not is_object_get:
            return self.inner(environ, start_response)
        if self.mode == "drop":
            # Promise more bytes than are sent; the connection closes mid-body.
            start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                      ("Content-Length", "100000")])
            return [b"PAR1 partial"]
        return faulty_app(int(self.mode))(environ, start_response)


class LoopbackS3:
    """Start with .start(); .endpoint is the honest server, .ignoring_endpoint the other."""

    def __init__(self) -> None:
        app = DomainDispatcherApplication(create_backend_app)
        lock = threading.Lock()
        self.honest = _Serialised(app, lock, strip_if_none_match=False)
        self.ignoring = _Serialised(app, lock, strip_if_none_match=True)
        self._servers: list[BaseWSGIServer] = []

    def _serve(self, app: WSGIApp) -> str:
        server = make_server("127.0.0.1", 0, app, threaded=True,
                             request_handler=MotoRequestHandler)
        self._servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        host, port = server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> LoopbackS3:
        self.endpoint = self._serve(self.honest)
        self.ignoring_endpoint = self._serve(self.ignoring)
        self.fault_endpoints = {status: self._serve(faulty_app(status)) for status in _FAULTS}
        self.read_fault_endpoints = {mode: self._serve(_FaultyReads(self.honest, mode))
                                     for mode in ("500", "403", "drop", "503-view-ranged")}
        return self

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
