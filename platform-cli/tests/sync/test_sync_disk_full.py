"""A full disk: the sync folder on a 512 KiB tmpfs, a release that does not fit. The release
is refused before its download (its package's error; the only package here, so the cycle
fails) with "does not fit" in health, ``current`` stays, no temporary file is left, and the
next release that fits is synced (one package among others: test_sync_sizes.py). Mounting
needs root (CI runs as root); elsewhere it is skipped, which CI would report as a failure."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from adp.releases.local_store import LocalStore
from adp.sync import Syncer
from adp.sync.agent import Agent
from adp.sync.health import read_health
from adp_test_helpers.sync_support import publish_files, read_current


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "small"
    mount.mkdir()
    answer = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if answer.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs (needs root): {answer.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_a_full_disk_fails_the_cycle_keeps_current_and_says_so(
    small_disk: Path, tmp_path: Path
) -> None:
    store = LocalStore(tmp_path / "store")
    publish_files(store, "dev", "sales", "v1", {"sales_a.py": b"# v1\n"})
    sync_dir = small_disk / "sync"
    agent = Agent(Syncer(store, "dev", sync_dir), interval=30)
    assert agent.run_cycle().status == "ok"
    publish_files(store, "dev", "sales", "v2", {"sales_a.py": b"# v2\n", "big.bin": b"x" * 2**20})
    result = agent.run_cycle()
    assert result.status == "failed" and "sales: release v2 of dev/sales does not fit" in (
        result.error or ""
    )
    assert read_current(sync_dir) == {"sales/sales_a.py": b"# v1\n"}
    health = read_health(sync_dir / "health.json")
    assert health["status"] == "failed" and "does not fit" in health["last_error"]
    assert not list(sync_dir.rglob(".tmp-*"))
    publish_files(store, "dev", "sales", "v3", {"sales_a.py": b"# v3\n"})
    assert agent.run_cycle().status == "ok"
    assert read_current(sync_dir) == {"sales/sales_a.py": b"# v3\n"}
