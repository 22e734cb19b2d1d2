"""The local store shared by several users, one package each (issue 26): a writer of pkg_a's
folder cannot swap the bytes pkg_b's publisher writes, nor hold pkg_b's lock for ever.

Before, every key's temporary and lock files lived in one shared folder (``.adp-store/``, mode
1777, owned by whoever published first): its owner could rename its own bytes over pkg_b's
temporary pointer between write and link, and anyone could flock pkg_b's lock file. Now they
live in the key's own folder. The attacker here is a real second user (uid 1001, through
``setpriv``), owning only ``dev/pkg_a/``, polling the whole store for anything to swap or lock.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from adp.releases import local_store
from adp.releases.local_store import LocalStore
from adp.releases.names import InvalidName, check_key
from adp.releases.pointer import read_pointer
from adp.releases.store import Busy
from adp_test_helpers.sync_support import publish_files

ATTACKER = 1001
# The attacker's interpreter: the system's (any user may run it), else this one.
PYTHON = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable

# Run as the attacker: rename a forged pointer over every pkg_b pointer being written anywhere
# it can, and take every lock file of pkg_b it can open; report what it did.
SWAPPER = r"""
import fcntl, json, os, sys, time
root, forged = sys.argv[1], open(sys.argv[2], "rb").read()
held, swapped, deadline = [], 0, time.time() + float(sys.argv[3])
while time.time() < deadline:
    for folder, _, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            if "lock" in name and "pkg_b" in folder:
                try:
                    handle = os.open(path, os.O_RDONLY)
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    held.append(handle)
                except OSError:
                    pass
                continue
            try:
                data = open(path, "rb").read()
            except OSError:
                continue
            if b'"pkg_b"' in data and b'"action"' in data and data != forged:
                mine = os.path.join(folder, "mine-%d" % swapped)
                try:
                    with open(mine, "wb") as out:
                        out.write(forged)
                    os.replace(mine, path)
                    swapped += 1
                except OSError:
                    pass
print(json.dumps({"swapped": swapped, "locks": len(held)}), flush=True)
"""


def as_attacker() -> list[str]:
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or setpriv is None:
        pytest.fail("this test runs as root with setpriv (util-linux), as CI does")
    return [setpriv, f"--reuid={ATTACKER}", f"--regid={ATTACKER}", "--clear-groups"]


@pytest.fixture
def shared(tmp_path: Path) -> Iterator[Path]:
    """A folder both users can reach (pytest's own temporary folders are root's only)."""
    with tempfile.TemporaryDirectory(prefix="adp-shared-store-") as folder:
        Path(folder).chmod(0o755)
        yield Path(folder)


def test_a_writer_of_one_package_cannot_swap_or_block_anothers_writes(shared: Path) -> None:
    tmp_path = shared
    root = tmp_path / "store"
    (root / "dev" / "pkg_a").mkdir(parents=True)
    root.chmod(0o1777)  # everyone may create a package folder (and the old shared one)
    os.chown(root / "dev" / "pkg_a", ATTACKER, ATTACKER)
    # pkg_a published first: what its first publication made (earlier, the shared folders)
    internal = root / local_store.INTERNAL
    subprocess.run(
        [*as_attacker(), "sh", "-c", 'mkdir -p "$1/tmp" "$1/locks"; chmod 1777 "$1/tmp" "$1/locks"',
         "sh", str(internal)],
        check=True,
    )  # fmt: skip
    store = LocalStore(root)
    publish_files(store, "dev", "pkg_b", "v1", {"pkg_b_d.py": b"v1"})
    forged = tmp_path / "forged.json"
    forged.write_bytes((root / "dev" / "pkg_b" / "current.json").read_bytes())
    forged.chmod(0o644)
    attacker = subprocess.Popen(
        [*as_attacker(), PYTHON, "-c", SWAPPER, str(root), str(forged), "8"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(1)
        for number in range(2, 8):
            version = f"v{number}"
            publish_files(store, "dev", "pkg_b", version, {"pkg_b_d.py": version.encode()})
            assert read_pointer(store, "dev", "pkg_b").version == version
    finally:
        out, _ = attacker.communicate(timeout=60)
    report = json.loads(out.strip().splitlines()[-1])
    assert report == {"swapped": 0, "locks": 0}, report
    # nothing of pkg_b's writes ever lay where another user may write
    assert sorted(p.name for p in internal.rglob("*")) == ["locks", "tmp"]
    assert sorted(p.name for p in (root / "dev" / "pkg_a").iterdir()) == []


def test_a_held_lock_is_busy_after_a_bounded_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer that holds a key's lock (another process of the same package, or a stuck one)
    makes a conditional write answer Busy, never wait without end."""
    monkeypatch.setattr(local_store, "LOCK_WAIT", 0.5)
    store = LocalStore(tmp_path / "store")
    store.put_new("dev/pkg_b/current.json", b"{}")
    blob = store.get("dev/pkg_b/current.json")
    assert blob is not None
    store.put_if("dev/pkg_b/current.json", b"{1}", blob.etag)  # its lock file exists now
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, glob, os, sys, time\n"
            "path = glob.glob(sys.argv[1] + '/.adp-lock-*')[0]\n"
            "fd = os.open(path, os.O_RDONLY); fcntl.flock(fd, fcntl.LOCK_EX)\n"
            "print('held', flush=True); time.sleep(30)\n",
            str(tmp_path / "store" / "dev" / "pkg_b"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        with pytest.raises(Busy, match="held its lock"):
            store.put_if("dev/pkg_b/current.json", b"{2}", None)
        assert time.monotonic() - started < 5
    finally:
        holder.kill()
        holder.wait()
    assert store.get("dev/pkg_b/current.json").data == b"{1}"


def test_the_stores_own_files_are_no_keys_and_are_not_listed(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    store.put_new("dev/pkg_b/current.json", b"{}")
    blob = store.get("dev/pkg_b/current.json")
    assert blob is not None
    store.put_if("dev/pkg_b/current.json", b"{1}", blob.etag)
    for key in ("dev/pkg_b/.adp-lock-x", "dev/.adp-tmp-1/current.json"):
        with pytest.raises(InvalidName, match="the store's own"):
            check_key(key)
    assert list(store.list("dev/")) == ["dev/pkg_b/current.json"]
    assert [p.name for p in (tmp_path / "store" / "dev" / "pkg_b").iterdir()] != []
