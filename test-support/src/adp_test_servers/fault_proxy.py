"""A loopback HTTP proxy in front of a test server that injects faults into chosen requests.

    with FaultProxy(s3.endpoint, lambda method, path: method == "GET").running() as proxy:
        proxy.mode, proxy.faults = "drop", 3     # the next 3 chosen requests fail that way
        client = boto3.client("s3", endpoint_url=proxy.endpoint)

Modes, applied while ``faults`` > 0 to a request ``select(method, path)`` chooses:

- ``"500"``: answered 500 with an empty body, not forwarded;
- ``"409"``: answered 409 with S3's ConditionalRequestConflict error, not forwarded (the write
  did not happen, as on S3);
- ``"drop"``: forwarded; half the body is sent, then the connection is closed;
- ``"truncate"``: forwarded; a shorter body is sent, announced as such;
- ``"lost"``: forwarded (the server did the work), then the connection is closed before any
  answer: the client cannot tell whether its request happened, and retries it.

Every other request is forwarded as it is. ``injected`` counts the faults answered and
``requests`` the requests per method. Real sockets and real HTTP: nothing is mocked.
"""

from __future__ import annotations

import http.client
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

MODES = ("500", "409", "drop", "truncate", "lost")
CONFLICT = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>ConditionalRequestConflict</Code>'
    b"<Message>A conflicting conditional operation is currently in progress</Message></Error>"
)
HOP_BY_HOP = {"content-length", "transfer-encoding", "connection"}


class FaultProxy:
    def __init__(self, upstream: str, select: Callable[[str, str], bool]) -> None:
        self.mode = ""
        self.faults = 0
        self.injected = 0
        self.requests: Counter[str] = Counter()
        self._lock = threading.Lock()
        target = urlsplit(upstream)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _answer(self, status: int, body: bytes, content_type: str | None) -> None:
                self.send_response(status)
                if content_type:
                    self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                fault = proxy._take(self.command, self.path.split("?")[0], select)
                if fault == "500":
                    return self._answer(500, b"", None)
                if fault == "409":
                    return self._answer(409, CONFLICT, "application/xml")
                upstream_conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "expect"}
                upstream_conn.request(self.command, self.path, body=body, headers=headers)
                answer = upstream_conn.getresponse()
                data = answer.read()
                upstream_conn.close()
                if fault == "lost":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return None
                if fault == "truncate":
                    data = data[: len(data) // 2]
                self.send_response(answer.status)
                for key, value in answer.getheaders():
                    if key.lower() not in HOP_BY_HOP:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if fault == "drop":
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return None
                if self.command != "HEAD":
                    self.wfile.write(data)
                return None

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"

    def _take(self, method: str, path: str, select: Callable[[str, str], bool]) -> str:
        """The fault for this request ("" for none), counted under the lock."""
        with self._lock:
            self.requests[method] += 1
            if self.faults <= 0 or not select(method, path):
                return ""
            if self.mode not in MODES:
                raise ValueError(f"FaultProxy.mode {self.mode!r}: use one of {MODES}")
            self.faults -= 1
            self.injected += 1
            return self.mode

    @contextmanager
    def running(self) -> Iterator[FaultProxy]:
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()
