"""S3 may answer 409 ConditionalRequestConflict to a conditional write: the publisher retries
it with backoff, then reports a conflict. Tested against moto's server through a loopback proxy
that answers 409 to the first N writes of current.json (no mock of boto3)."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from adp.releases.pointer import PointerConflict, read_pointer
from adp.releases.publish import PublishRequest, publish_validated
from adp.releases.s3_store import S3Store
from adp.validation import Report, ValidationOptions, validate
from adp_test_servers.s3 import S3Server
from release_corpus import good_dags, new_bucket

CONFLICT = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>ConditionalRequestConflict</Code>'
    b"<Message>A conflicting conditional operation is currently in progress</Message></Error>"
)


class ConflictProxy:
    """Forwards every request to the server; answers 409 to the next ``conflicts`` PUTs of
    a key ending in current.json."""

    def __init__(self, upstream: str) -> None:
        self.conflicts = 0
        self.answered_409 = 0
        target = urlsplit(upstream)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                pointer = self.path.split("?")[0].endswith("/current.json")
                if self.command == "PUT" and pointer and proxy.conflicts > 0:
                    proxy.conflicts -= 1
                    proxy.answered_409 += 1
                    self.send_response(409)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(CONFLICT)))
                    self.end_headers()
                    self.wfile.write(CONFLICT)
                    return
                upstream_conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "expect"}
                upstream_conn.request(self.command, self.path, body=body, headers=headers)
                answer = upstream_conn.getresponse()
                data = answer.read()
                self.send_response(answer.status)
                for key, value in answer.getheaders():
                    if key.lower() not in {"content-length", "transfer-encoding", "connection"}:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                upstream_conn.close()

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def proxy(s3_env: S3Server) -> Iterator[ConflictProxy]:
    proxy = ConflictProxy(s3_env.endpoint)
    thread = threading.Thread(target=proxy.server.serve_forever, daemon=True)
    thread.start()
    yield proxy
    proxy.server.shutdown()
    proxy.server.server_close()


@pytest.fixture(scope="module")
def validated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Report]:
    folder = good_dags(tmp_path_factory.mktemp("good409") / "dags")
    return folder, validate([str(folder.resolve())], ValidationOptions(package="sales"))


def test_a_409_is_retried_and_the_pointer_moves(
    s3_env: S3Server, proxy: ConflictProxy, validated: tuple[Path, Report]
) -> None:
    folder, report = validated
    store = S3Store(new_bucket(s3_env), proxy.endpoint)
    proxy.conflicts = 2
    publish_validated(store, PublishRequest("dev", "sales", folder, "v1"), report)
    assert proxy.answered_409 == 2
    assert read_pointer(store, "dev", "sales").version == "v1"


def test_409_after_every_retry_is_reported_as_a_conflict_and_the_pointer_stays(
    s3_env: S3Server, proxy: ConflictProxy, validated: tuple[Path, Report]
) -> None:
    folder, report = validated
    store = S3Store(new_bucket(s3_env), proxy.endpoint)
    publish_validated(store, PublishRequest("dev", "sales", folder, "v1"), report)
    proxy.conflicts = 100
    with pytest.raises(PointerConflict, match="answered 409") as refused:
        publish_validated(store, PublishRequest("dev", "sales", folder, "v2"), report)
    assert "Nothing was pointed at 'v2'" in str(refused.value)
    assert proxy.answered_409 == 5
    assert read_pointer(store, "dev", "sales").version == "v1"
