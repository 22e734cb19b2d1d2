"""`adp sync` as a program: settings checked at start, --once, --check, the health endpoint and
--exec, each in a subprocess of its own with a clean environment."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import adp
from adp.releases.local_store import LocalStore
from adp_test_helpers.sync_support import publish_files, read_current
from adp_test_servers.ports import free_port

SOURCE = str(Path(adp.__file__).parents[1])
SALES = {"sales_a.py": b"# v1\n"}


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """No ADP_* or AWS_* variable, an empty HOME, the tree under test on the path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ADP_", "AWS_", "BOTO"))}
    home.mkdir(parents=True, exist_ok=True)
    env.update(HOME=str(home), PYTHONPATH=os.pathsep.join([SOURCE, env.get("PYTHONPATH", "")]))
    env.update(extra)
    return env


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "adp.cli.main", "sync", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "adp.cli.main", "sync", *args]
    return subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)


def wait_for(check: Callable[[], bool], what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_every_missing_setting_is_named_and_exit_is_2(tmp_path: Path) -> None:
    answer = run([], clean_env(tmp_path / "home"))
    assert answer.returncode == 2
    for name in ("--store or ADP_RELEASE_STORE", "--env or ADP_ENV", "--sync-dir or ADP_SYNC_DIR"):
        assert name in answer.stderr


def test_invalid_settings_are_named(tmp_path: Path) -> None:
    env = clean_env(tmp_path / "home", ADP_SYNC_INTERVAL="soon", ADP_ENV="Prod!")
    answer = run(["--store", str(tmp_path / "store"), "--sync-dir", str(tmp_path / "s")], env)
    assert answer.returncode == 2
    assert "ADP_SYNC_INTERVAL" in answer.stderr and "environment 'Prod!'" in answer.stderr


def test_missing_aws_credentials_are_named_without_any_secret(tmp_path: Path) -> None:
    env = clean_env(tmp_path / "home")
    args = ["--store", "s3://releases", "--env", "dev", "--sync-dir", str(tmp_path / "s")]
    answer = run(args, env)
    assert answer.returncode == 2
    assert "no AWS credentials" in answer.stderr
    for looked_at in ("AWS_ACCESS_KEY_ID", "AWS_PROFILE", "~/.aws/credentials", "instance role"):
        assert looked_at in answer.stderr


def test_an_unreadable_store_on_a_fresh_sync_dir_is_exit_2(tmp_path: Path) -> None:
    args = ["--store", str(tmp_path / "none"), "--env", "dev", "--sync-dir", str(tmp_path / "s")]
    answer = run(args, clean_env(tmp_path / "home"))
    assert answer.returncode == 2 and "release store cannot be read" in answer.stderr


def test_once_syncs_and_check_reads_health(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    publish_files(store, "dev", "sales", "v1", SALES)
    env = clean_env(
        tmp_path / "home",
        ADP_RELEASE_STORE=str(tmp_path / "store"),
        ADP_ENV="dev",
        ADP_SYNC_DIR=str(tmp_path / "sync"),
    )
    answer = run(["--once"], env)
    assert answer.returncode == 0, answer.stderr
    assert read_current(tmp_path / "sync") == {"sales/sales_a.py": b"# v1\n"}
    assert run(["--check"], env).returncode == 0
    time.sleep(0.3)
    stale = run(["--check", "--health-max-age", "0.2"], env)
    assert stale.returncode == 1 and "unhealthy" in stale.stdout


def test_health_endpoint_is_200_after_a_good_sync_and_503_once_it_is_too_old(
    tmp_path: Path,
) -> None:
    store = LocalStore(tmp_path / "store")
    publish_files(store, "dev", "sales", "v1", SALES)
    port = free_port()
    env = clean_env(tmp_path / "home")
    args = [
        "--store", str(tmp_path / "store"), "--env", "dev", "--sync-dir", str(tmp_path / "sync"),
        "--interval", "0.2", "--health-port", str(port), "--health-max-age", "1.5",
    ]  # fmt: skip
    agent = start(args, env)
    url = f"http://127.0.0.1:{port}/health"

    def get() -> tuple[int, dict]:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())
        except OSError:
            return 0, {}

    try:
        wait_for(lambda: get()[0] == 200, "200 from /health")
        status, body = get()
        assert status == 200 and body["status"] == "ok" and body["last_error"] is None
        assert body["packages"]["sales"]["version"] == "v1"
        assert 0 <= body["last_good_age_seconds"] < 1.5 and body["snapshot"]
        (tmp_path / "store").rename(tmp_path / "store-gone")  # every cycle fails from now
        wait_for(lambda: get()[0] == 503, "503 from /health")
        status, body = get()
        assert (
            status == 503 and body["status"] == "failed" and "does not exist" in body["last_error"]
        )
        assert body["last_good_age_seconds"] >= 1.5
        assert read_current(tmp_path / "sync") == {"sales/sales_a.py": b"# v1\n"}
    finally:
        agent.send_signal(signal.SIGTERM)
        agent.wait(timeout=20)


CHILD = """
import os, pathlib, signal, sys, time
out = pathlib.Path(sys.argv[1])
current = pathlib.Path(sys.argv[2]) / "current"
seen = (current / "sales" / "sales_a.py").read_text() if current.exists() else "none"
(out / "started").write_text(f"{os.getpid()} {seen}")
def stop(signum, frame):
    (out / "stopped").write_text(str(signum))
    sys.exit(7)
signal.signal(signal.SIGTERM, stop)
while True:
    time.sleep(0.05)
"""


def test_exec_starts_after_the_first_good_sync_keeps_syncing_and_forwards_sigterm(
    tmp_path: Path,
) -> None:
    store = LocalStore(tmp_path / "store")
    publish_files(store, "dev", "sales", "v1", SALES)
    (tmp_path / "child.py").write_text(CHILD)
    out = tmp_path / "out"
    out.mkdir()
    sync_dir = tmp_path / "sync"
    args = [
        "--store", str(tmp_path / "store"), "--env", "dev", "--sync-dir", str(sync_dir),
        "--interval", "0.2", "--exec", "--",
        sys.executable, str(tmp_path / "child.py"), str(out), str(sync_dir),
    ]  # fmt: skip
    agent = start(args, clean_env(tmp_path / "home"))
    try:
        wait_for(lambda: (out / "started").exists(), "the program to start")
        pid, seen = (out / "started").read_text().split(" ", 1)
        assert seen == "# v1\n"  # current was there when it started
        for version in (2, 3, 4):
            publish_files(store, "dev", "sales", f"v{version}", {"sales_a.py": b"# %d\n" % version})
            wait_for(
                lambda v=version: read_current(sync_dir) == {"sales/sales_a.py": b"# %d\n" % v},
                f"v{version} synced",
            )
        assert (out / "started").read_text().split(" ", 1)[0] == pid  # started once
        os.kill(int(pid), 0)  # and still running
        agent.send_signal(signal.SIGTERM)
        assert agent.wait(timeout=20) == 7
        assert (out / "stopped").read_text() == str(int(signal.SIGTERM))
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.wait()


def test_exec_exits_with_the_programs_code_when_it_ends(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    publish_files(store, "dev", "sales", "v1", SALES)
    args = [
        "--store", str(tmp_path / "store"), "--env", "dev", "--sync-dir", str(tmp_path / "s"),
        "--exec", "--", sys.executable, "-c", "import sys; sys.exit(3)",
    ]  # fmt: skip
    assert run(args, clean_env(tmp_path / "home")).returncode == 3
