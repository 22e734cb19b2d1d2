"""FaultProxy: every request is forwarded, and the chosen ones get exactly the fault asked for."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from adp_test_servers.fault_proxy import CONFLICT, FaultProxy

BODY = b"0123456789" * 100


@pytest.fixture
def upstream() -> Iterator[tuple[str, list[str]]]:
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            seen.append(f"GET {self.path}")
            self.send_response(200)
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            self.wfile.write(BODY)

        def do_PUT(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            seen.append(f"PUT {self.path}")
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


def request(endpoint: str, method: str, path: str) -> tuple[int, bytes]:
    host, port = endpoint.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request(method, path, body=b"x" if method == "PUT" else None)
        answer = conn.getresponse()
        return answer.status, answer.read()
    finally:
        conn.close()


def test_unchosen_requests_and_spent_faults_are_forwarded(upstream) -> None:
    endpoint, seen = upstream
    with FaultProxy(endpoint, lambda m, p: p == "/bad").running() as proxy:
        proxy.mode, proxy.faults = "500", 1
        assert request(proxy.endpoint, "GET", "/good") == (200, BODY)
        assert request(proxy.endpoint, "GET", "/bad")[0] == 500
        assert request(proxy.endpoint, "GET", "/bad") == (200, BODY)
    assert seen == ["GET /good", "GET /bad"] and proxy.injected == 1
    assert proxy.requests["GET"] == 3


def test_a_409_is_s3s_conflict_and_the_write_never_arrives(upstream) -> None:
    endpoint, seen = upstream
    with FaultProxy(endpoint, lambda m, p: m == "PUT").running() as proxy:
        proxy.mode, proxy.faults = "409", 2
        assert request(proxy.endpoint, "PUT", "/k") == (409, CONFLICT)
        assert request(proxy.endpoint, "PUT", "/k") == (409, CONFLICT)
        assert request(proxy.endpoint, "PUT", "/k")[0] == 200
    assert seen == ["PUT /k"]


def test_truncate_sends_half_the_body_and_drop_closes_the_connection_mid_body(upstream) -> None:
    endpoint, _ = upstream
    with FaultProxy(endpoint, lambda m, p: True).running() as proxy:
        proxy.mode, proxy.faults = "truncate", 1
        assert request(proxy.endpoint, "GET", "/f") == (200, BODY[: len(BODY) // 2])
        proxy.mode, proxy.faults = "drop", 1
        with pytest.raises(http.client.IncompleteRead):
            request(proxy.endpoint, "GET", "/f")


def test_lost_forwards_the_write_then_closes_before_any_answer(upstream) -> None:
    endpoint, seen = upstream
    with FaultProxy(endpoint, lambda m, p: m == "PUT").running() as proxy:
        proxy.mode, proxy.faults = "lost", 1
        with pytest.raises(http.client.RemoteDisconnected):
            request(proxy.endpoint, "PUT", "/k")
        assert request(proxy.endpoint, "PUT", "/k")[0] == 200
    assert seen == ["PUT /k", "PUT /k"]  # the lost one arrived: only its answer was lost


def test_an_unknown_mode_is_refused_by_name(upstream) -> None:
    endpoint, _ = upstream
    proxy = FaultProxy(endpoint, lambda m, p: True)
    proxy.mode, proxy.faults = "503", 1
    with pytest.raises(ValueError, match="'503'"):
        proxy._take("GET", "/", lambda m, p: True)
