"""Health: ``health.json`` (written atomically after every cycle) and ``GET /health``.

The endpoint answers 200 while the last good sync is younger than ``max_age`` seconds
(default ``max(3 * interval, 90)``), 503 otherwise; the body is health.json with
``last_good_age_seconds`` computed when asked.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from adp.sync.cycle import CycleResult
from adp.sync.layout import write_atomic


def default_max_age(interval: float) -> float:
    return max(3 * interval, 90.0)


def health_document(
    result: CycleResult, previous: dict[str, Any] | None, interval: float
) -> dict[str, Any]:
    previous = previous or {}
    last_good = result.finished_at.isoformat() if result.good else previous.get("last_good_sync")
    packages = {
        name: {"version": r.version, "manifest_sha256": r.manifest_sha256, "error": None}
        for name, r in result.packages.items()
    } or previous.get("packages", {})
    for name, error in result.package_errors.items():
        packages.setdefault(name, {"version": None, "manifest_sha256": None})["error"] = error
    return {
        "status": result.status,
        "last_attempt": result.finished_at.isoformat(),
        "last_good_sync": last_good,
        "last_error": result.error,
        "snapshot": result.snapshot_id,
        "interval_seconds": interval,
        "packages": packages,
    }


def read_health(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None


def write_health(path: Path, document: dict[str, Any]) -> None:
    write_atomic(path, (json.dumps(document, indent=2, sort_keys=True) + "\n").encode())


def verdict(document: dict[str, Any] | None, max_age: float) -> tuple[bool, dict[str, Any]]:
    """(healthy, the document with ``last_good_age_seconds``)."""
    if document is None:
        return False, {"status": "starting", "last_good_sync": None, "last_error": None}
    body = dict(document)
    age = None
    if body.get("last_good_sync"):
        then = datetime.fromisoformat(body["last_good_sync"])
        age = round((datetime.now(UTC) - then).total_seconds(), 3)
    body["last_good_age_seconds"] = age
    body["max_age_seconds"] = max_age
    return age is not None and age < max_age, body


class HealthServer:
    """``GET /health`` on ``host:port`` (port 0: a free one), in a daemon thread."""

    def __init__(self, path: Path, host: str, port: int, max_age: float) -> None:
        health_path = path

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                if self.path.split("?")[0] != "/health":
                    self.send_error(404)
                    return
                healthy, body = verdict(read_health(health_path), max_age)
                data = json.dumps(body, sort_keys=True).encode()
                self.send_response(200 if healthy else 503)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> HealthServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
