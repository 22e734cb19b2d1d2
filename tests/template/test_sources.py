"""`copier copy` works from a local clone of this repository and from git URLs at a tag.

The URLs are real git transports on loopback: file://, the dumb HTTP protocol
(a bare repository behind a plain HTTP server) and git:// (`git daemon`).
"""

from __future__ import annotations

import functools
import http.server
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from adp_test_servers.ports import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]


def answers_of(project: Path) -> dict:
    return yaml.safe_load((project / ".copier-answers.yml").read_text())


@pytest.fixture(scope="module")
def bare_repo(tmp_path_factory, template_repo, git_cmd) -> Path:
    """A bare clone of the template repository (tag v99.0.0), as a git server holds it."""
    root = tmp_path_factory.mktemp("served")
    bare = root / "platform.git"
    git_cmd(root, "clone", "-q", "--bare", str(template_repo), str(bare))
    git_cmd(bare, "update-server-info")  # what the dumb HTTP protocol reads
    return bare


@pytest.fixture(scope="module")
def http_url(bare_repo: Path) -> Iterator[str]:
    handler = functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=str(bare_repo.parent)
    )
    handler.log_message = lambda *args: None  # type: ignore[assignment]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/{bare_repo.name}"
    server.shutdown()


@pytest.fixture(scope="module")
def git_daemon_url(bare_repo: Path) -> Iterator[str]:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    port = free_port()
    daemon = subprocess.Popen(
        [
            "git",
            "daemon",
            "--reuseaddr",
            "--export-all",
            "--listen=127.0.0.1",
            f"--port={port}",
            f"--base-path={bare_repo.parent}",
            str(bare_repo.parent),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        else:
            pytest.fail("git daemon did not start listening")
        yield f"git://127.0.0.1:{port}/{bare_repo.name}"
    finally:
        daemon.terminate()
        daemon.wait(timeout=10)


@pytest.mark.parametrize("transport", ["file", "http", "git"])
def test_copy_from_git_url_at_tag(transport, request, bare_repo, tmp_path, copier_cli) -> None:
    url = {
        "file": lambda: bare_repo.as_uri(),
        "http": lambda: request.getfixturevalue("http_url"),
        "git": lambda: request.getfixturevalue("git_daemon_url"),
    }[transport]()
    dst = tmp_path / "customer-360"
    result = copier_cli(
        "copy", "--defaults", "--vcs-ref", "v99.0.0", "--data", "datakit_name=customer-360",
        url, str(dst),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    answers = answers_of(dst)
    assert answers["_commit"] == "v99.0.0"
    assert answers["_src_path"] == url
    assert (dst / "dags" / "customer_360_example.py").is_file()


def test_update_from_http_url(http_url, tmp_path, copier_cli, git_cmd) -> None:
    """The recorded URL is where `copier update` fetches from."""
    dst = tmp_path / "customer-360"
    copied = copier_cli("copy", "--defaults", "--vcs-ref", "v99.0.0", http_url, str(dst))
    assert copied.returncode == 0, copied.stderr
    git_cmd(dst, "init", "-q")
    git_cmd(dst, "add", "-A")
    git_cmd(dst, "commit", "-q", "-m", "datakit")
    updated = copier_cli("update", "--defaults", cwd=dst)
    assert updated.returncode == 0, updated.stderr
    assert git_cmd(dst, "status", "--porcelain") == ""


def test_copy_from_a_local_clone_of_this_repository(tmp_path, copier_cli) -> None:
    """The root copier.yml of this very repository, with _subdirectory, as users copy it."""
    if not (REPO_ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    dst = tmp_path / "customer-360"
    result = copier_cli(
        "copy", "--defaults", "--vcs-ref", "HEAD", "--data", "datakit_name=customer-360",
        str(REPO_ROOT), str(dst),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    answers = answers_of(dst)
    assert answers["_commit"], "Copier did not version the template: copier.yml not at git root?"
    assert answers["_src_path"] == str(REPO_ROOT)
    assert (dst / "Dockerfile").read_text().rstrip().endswith("FROM layer1-airflow:latest")
    assert not (dst / "copier.yml").exists() and not (dst / "templates").exists()
