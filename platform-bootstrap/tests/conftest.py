"""Fixtures: a real MIT KDC on loopback (adp_test_servers), and the sharer running as a real
process."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from adp_test_servers.kdc import Realm, running_realm
from adp_test_servers.sharer import SharerProcess
from adp_test_servers.system import traversable_tmpdir

HERE = Path(__file__).resolve().parent
SHARER_SRC = HERE.parent / "kerberos-ticket-sharer" / "src"


@pytest.fixture(scope="session")
def realm() -> Iterator[Realm]:
    with running_realm("ADP.TEST") as realm:
        realm.add_user("alice", "alice-password-1")
        realm.add_user("bob", "bob-password-2")
        realm.add_service("host/localhost", realm.directory / "host.keytab")
        yield realm


@pytest.fixture
def workdir() -> Iterator[Path]:
    path = traversable_tmpdir("adp-sharer-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def start_sharer(realm: Realm, workdir: Path) -> Iterator[Callable[..., SharerProcess]]:
    """Start `python -m kerberos_ticket_sharer run` with SHARER_* settings given as keywords."""
    started: list[SharerProcess] = []

    def start(**settings: str) -> SharerProcess:
        target_dir = workdir / f"volume-{len(started)}"
        env = realm.env()
        env.update(
            {
                "SHARER_TARGET_DIR": str(target_dir),
                "SHARER_STATE_DIR": str(workdir / f"state-{len(started)}"),
                "SHARER_POLL_INTERVAL": "0.5",
                "SHARER_MIN_REMAINING": "2",
                "SHARER_GRACE": "1",
                "SHARER_LOG_LEVEL": "DEBUG",
                "PYTHONPATH": os.pathsep.join([str(SHARER_SRC), os.environ.get("PYTHONPATH", "")]),
            }
        )
        env.update({f"SHARER_{k.upper()}": v for k, v in settings.items()})
        log_path = workdir / f"sharer-{len(started)}.log"
        handle = SharerProcess.start(env, log_path, target_dir / "krb5cc")
        started.append(handle)
        handle.wait_for_log("started:", timeout=10)
        return handle

    yield start
    for handle in started:
        handle.stop()
