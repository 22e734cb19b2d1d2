"""``adp repos serve``'s connection options: their defaults are ConnectionLimits', a bad value
is refused naming the option before anything starts, and the served receiver applies them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import typer
import yaml
from adp.cli.main import app
from adp.webhooks import ConnectionLimits
from adp_test_servers.ports import free_port
from typer.testing import CliRunner

OPTIONS = {
    "read_timeout": "--read-timeout",
    "max_connections": "--max-connections",
    "max_connections_per_client": "--max-connections-per-client",
}


def serve_params() -> dict[str, object]:
    group = typer.main.get_command(app)
    serve = group.commands["repos"].commands["serve"]  # type: ignore[attr-defined]
    return {p.name: p.default for p in serve.params}


def test_the_options_default_to_the_librarys_limits() -> None:
    defaults, params = ConnectionLimits(), serve_params()
    for field in OPTIONS:
        assert params[field] == getattr(defaults, field), field


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--read-timeout", "0"], "--read-timeout"),
        (["--max-connections", "0"], "--max-connections"),
        (
            ["--max-connections", "8", "--max-connections-per-client", "9"],
            "--max-connections-per-client",
        ),
    ],
)
def test_a_bad_limit_is_refused_naming_the_option(
    tmp_path: Path, args: list[str], option: str
) -> None:
    config = tmp_path / "missing.yaml"  # checked first: the file is never read
    result = CliRunner().invoke(app, ["repos", "serve", "--config", str(config), *args])
    assert result.exit_code == 2, result.output
    assert f"{option} must be" in result.output
    assert not (tmp_path / "state").exists()


def test_adp_repos_serve_applies_the_read_timeout(tmp_path: Path) -> None:
    """The real command, started as an operator starts it: a connection that sends nothing
    is answered 408 after --read-timeout."""
    (tmp_path / "store").mkdir()
    config = tmp_path / "airflow-repos.yaml"
    repository = {"name": "dags", "url": "https://git.example.com/acme/dags.git"}
    config.write_text(
        yaml.safe_dump(
            {
                "release_store": {"bucket": str(tmp_path / "store"), "env": "dev"},
                "state_dir": str(tmp_path / "state"),
                "repositories": [{**repository, "namespace": "sales", "sync_interval": 3600}],
            }
        )
    )
    port, log = free_port(), tmp_path / "serve.log"
    adp = Path(sys.executable).parent / "adp"
    command = [str(adp), "repos", "serve", "--config", str(config), "--port", str(port)]
    with log.open("w") as out:
        process = subprocess.Popen(
            [*command, "--read-timeout", "1"], stdout=out, stderr=subprocess.STDOUT, env=os.environ
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=5)
                break
            except OSError:
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        with sock:
            started = time.monotonic()
            answer = sock.recv(65536)
        assert answer.startswith(b"HTTP/1.1 408 "), (answer[:200], log.read_text())
        assert 0.9 <= time.monotonic() - started < 3
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(20)
