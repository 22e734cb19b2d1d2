"""``serve`` as the caller runs it: a process of its own that answers, syncs, and stops cleanly
on SIGTERM (the lifespan stops the poller and the workers); targets are checked when built."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest
from adp.webhooks import HookTarget
from adp_test_helpers.webhook_support import GITHUB_SECRET, SHA_1, github_headers, github_push
from adp_test_servers.ports import free_port
from adp_test_servers.system import wait_until_answers

SERVER = textwrap.dedent(
    """
    import logging, sys
    from pathlib import Path
    from adp.webhooks import HookTarget, create_app, serve

    logging.basicConfig(level=logging.INFO)
    out = Path(sys.argv[1])
    def sync(name, reason):
        with out.open("a") as f:
            f.write(f"{name} {reason}\\n")
    target = HookTarget("dags", "github", sys.argv[3].encode(), "main", poll_interval=0.2)
    serve(create_app([target], sync, Path(sys.argv[2])), port=int(sys.argv[4]))
    """
)


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def wait_for_line(path: Path, line: str, log: Path, timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while line not in (path.read_text().splitlines() if path.exists() else []):
        assert time.monotonic() < deadline, f"no line {line!r}: {log.read_text()[-2000:]}"
        time.sleep(0.05)


def test_serve_answers_syncs_and_stops_on_sigterm(tmp_path: Path) -> None:
    port, out, log = free_port(), tmp_path / "syncs.txt", tmp_path / "server.log"
    env = os.environ | {"PYTHONPATH": os.pathsep.join(sys.path)}
    command = [sys.executable, "-c", SERVER, str(out), str(tmp_path / "state")]
    with log.open("w") as log_file:
        process = subprocess.Popen(
            [*command, GITHUB_SECRET.decode(), str(port)],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answers(
            lambda: answers(f"{url}/healthz"),
            process,
            "adp.webhooks.serve",
            log,
            timeout=20,
        )
        body = github_push()
        answer = httpx.post(f"{url}/hooks/dags", content=body, headers=github_headers(body))
        assert answer.status_code == 202, answer.text
        wait_for_line(out, f"dags webhook github {answer.json()['delivery_id']} {SHA_1}", log)
        wait_for_line(out, "dags poll", log)  # poll_interval 0.2 s
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(10)
    text = log.read_text()
    # uvicorn shuts down cleanly, then re-raises the signal: the process ends as SIGTERM's.
    assert code in (0, -signal.SIGTERM), text
    assert "Application shutdown complete" in text
    assert GITHUB_SECRET.decode() not in text


def test_a_target_is_checked_when_built_and_its_repr_hides_the_secret() -> None:
    target = HookTarget("dags", "gitlab", b"s3cr3t-value", "main")
    assert "s3cr3t-value" not in repr(target) and target.ref == "refs/heads/main"
    bad: list[tuple[object, ...]] = [
        ("", "github", b"s", "main"),
        ("a/b", "github", b"s", "main"),
        ("dags", "gitea", b"s", "main"),
        ("dags", "github", b"", "main"),
        ("dags", "github", "text", "main"),
        ("dags", "github", b"s", "refs/heads/main"),
        ("dags", "github", b"s", "main", 0),
    ]
    for args in bad:
        with pytest.raises(ValueError, match="hook target"):
            HookTarget(*args)  # type: ignore[arg-type]
