"""The shared file's invariant: always absent or complete, owned by uid 50000, mode 0400."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from adp_test_servers.kdc import Realm
from adp_test_servers.system import as_uid, traversable_tmpdir
from kerberos_ticket_sharer import shared_copy

READER = r"""
import os, sys, time
target, seconds = sys.argv[1], float(sys.argv[4])
a, b = open(sys.argv[2], "rb").read(), open(sys.argv[3], "rb").read()
reads = bad = absent = 0
end = time.monotonic() + seconds
while time.monotonic() < end:
    try:
        with open(target, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        absent += 1
        continue
    reads += 1
    if data != a and data != b:
        bad += 1
print(reads, bad, absent)
"""


def _two_caches(realm: Realm, workdir: Path) -> tuple[Path, Path]:
    a, b = workdir / "a.ccache", workdir / "b.ccache"
    realm.kinit("alice@ADP.TEST", f"FILE:{a}")
    realm.kinit("bob@ADP.TEST", f"FILE:{b}")
    assert realm.run("kvno", "host/localhost", ccache=f"FILE:{b}").returncode == 0
    assert a.read_bytes() != b.read_bytes() and a.stat().st_size != b.stat().st_size
    return a, b


def _race(target: Path, a: Path, b: Path, write: object, seconds: float = 3.0) -> tuple[int, int]:
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(target), str(a), str(b), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    data = [a.read_bytes(), b.read_bytes()]
    writes = 0
    while reader.poll() is None:
        write(data[writes % 2])  # type: ignore[operator]
        writes += 1
    reads, bad, _absent = (int(x) for x in reader.stdout.read().split())  # type: ignore[union-attr]
    assert writes > 100 and reads > 1000, (writes, reads)
    return reads, bad


def test_concurrent_reader_never_sees_a_partial_file(realm: Realm, workdir: Path) -> None:
    a, b = _two_caches(realm, workdir)
    volume = workdir / "volume"
    shared_copy.prepare_directory(volume, 0o711, "krb5cc")
    target = volume / "krb5cc"

    def atomic(data: bytes) -> None:
        shared_copy.write_atomically(target, data, uid=50000, gid=0, mode=0o400)

    reads, bad = _race(target, a, b, atomic)
    print(f"atomic replacement: {reads} concurrent reads, {bad} partial")
    assert bad == 0
    assert not list(volume.glob(".*.tmp")), "temporary files left behind"


def test_the_race_test_catches_an_in_place_rewrite(realm: Realm, workdir: Path) -> None:
    """Control: the same reader does see torn files when the cache is rewritten in place."""
    a, b = _two_caches(realm, workdir)
    target = workdir / "in-place"
    target.write_bytes(a.read_bytes())

    def in_place(data: bytes) -> None:
        with open(target, "r+b") as f:
            f.truncate(0)
            f.write(data[:100])
            f.flush()
            time.sleep(0)
            f.write(data[100:])

    reads, bad = _race(target, a, b, in_place, seconds=2.0)
    print(f"in-place rewrite: {reads} concurrent reads, {bad} partial")
    assert bad > 0


def test_only_uid_50000_can_read_the_shared_copy(realm: Realm, workdir: Path) -> None:
    a, _ = _two_caches(realm, workdir)
    volume = workdir / "volume"
    shared_copy.prepare_directory(volume, 0o711, "krb5cc")
    target = volume / "krb5cc"
    shared_copy.write_atomically(target, a.read_bytes(), uid=50000, gid=0, mode=0o400)

    st = target.stat()
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (50000, 0, 0o400)
    assert volume.stat().st_mode & 0o7777 == 0o711
    airflow = subprocess.run(as_uid(50000, 0, "cat", str(target)), capture_output=True)
    assert airflow.returncode == 0 and airflow.stdout == a.read_bytes()
    for uid, gid in [(1000, 1000), (50001, 0), (65534, 65534)]:
        other = subprocess.run(as_uid(uid, gid, "cat", str(target)), capture_output=True)
        assert other.returncode != 0, f"uid {uid} could read the shared ticket"
        assert b"Permission denied" in other.stderr
    listing = subprocess.run(as_uid(50000, 0, "ls", str(volume)), capture_output=True)
    assert listing.returncode != 0, "the shared directory should not be listable"
    # The copy authenticates when used by the Airflow user, read-only.
    kvno = subprocess.run(
        as_uid(50000, 0, "kvno", "host/localhost"),
        env=realm.env(f"FILE:{target}"),
        capture_output=True,
        text=True,
    )
    assert kvno.returncode == 0, kvno.stderr
    assert os.stat(target).st_size == len(a.read_bytes()), "a reader must not modify the copy"


def test_prepare_directory_takes_over_a_volume_created_by_a_datakit(workdir: Path) -> None:
    volume = workdir / "volume"
    volume.mkdir(mode=0o750)
    os.chown(volume, 50000, 0)
    (volume / ".krb5cc.abc.tmp").write_bytes(b"left over from a crash")
    shared_copy.prepare_directory(volume, 0o711, "krb5cc")
    st = volume.stat()
    assert (st.st_uid, st.st_mode & 0o7777) == (os.geteuid(), 0o711)
    assert not list(volume.glob(".*.tmp"))


def test_a_directory_holding_other_files_is_refused_and_left_as_it_was(workdir: Path) -> None:
    """Pointed at a /tmp-like folder, the sharer changes nothing and says why."""
    shared = workdir / "shared-tmp"
    shared.mkdir()
    shared.chmod(0o1777)
    others = shared / ".someone-else.tmp"
    others.write_bytes(b"another user's file")
    os.chown(others, 1234, 1234)
    (shared / "notes.txt").write_text("not the sharer's")
    before = sorted((p.name, p.stat().st_mode, p.stat().st_uid) for p in shared.iterdir())
    with pytest.raises(shared_copy.SharedCopyError) as refused:
        shared_copy.prepare_directory(shared, 0o711, "krb5cc")
    message = refused.value.strerror
    assert "SHARER_TARGET_DIR" in message and str(shared) in message
    assert "notes.txt" in message
    assert shared.stat().st_mode & 0o7777 == 0o1777
    assert sorted((p.name, p.stat().st_mode, p.stat().st_uid) for p in shared.iterdir()) == before


def test_a_world_writable_directory_is_refused_even_empty(workdir: Path) -> None:
    shared = workdir / "open"
    shared.mkdir()
    shared.chmod(0o1777)
    with pytest.raises(shared_copy.SharedCopyError, match="writable by every user"):
        shared_copy.prepare_directory(shared, 0o711, "krb5cc")
    assert shared.stat().st_mode & 0o7777 == 0o1777


def test_a_symlinked_directory_is_refused(workdir: Path) -> None:
    real = workdir / "real"
    real.mkdir(mode=0o755)
    link = workdir / "link"
    link.symlink_to(real)
    with pytest.raises(shared_copy.SharedCopyError, match="symbolic link"):
        shared_copy.prepare_directory(link, 0o711, "krb5cc")
    assert real.stat().st_mode & 0o7777 == 0o755


def test_only_the_sharers_own_temporary_files_are_cleaned(workdir: Path) -> None:
    volume = workdir / "ours"
    volume.mkdir()
    shared_copy.prepare_directory(volume, 0o711, "krb5cc")  # ours from now on
    (volume / ".krb5cc.crash1.tmp").write_bytes(b"ours, left by a crash")
    planted = volume / ".krb5cc.planted.tmp"
    planted.write_bytes(b"not written by the sharer")
    os.chown(planted, 1234, 1234)
    shared_copy.prepare_directory(volume, 0o711, "krb5cc")
    assert not (volume / ".krb5cc.crash1.tmp").exists()
    assert planted.exists(), "a file the sharer did not write was deleted"


def test_without_cap_chown_the_error_names_the_owner_settings() -> None:
    """A non-root sharer (here uid 65534, as a user might run it) cannot hand the copy to
    uid 50000: the message names SHARER_OWNER_UID/GID and the values that work."""
    tmp_path = traversable_tmpdir("adp-sharer-nonroot-")
    tmp_path.chmod(0o777)
    code = (
        "import sys; from pathlib import Path; from kerberos_ticket_sharer import shared_copy\n"
        "try:\n"
        "    shared_copy.write_atomically(Path(sys.argv[1]), b'x', uid=50000, gid=0, mode=0o400)\n"
        "except shared_copy.SharedCopyError as exc:\n"
        "    print(exc.strerror); sys.exit(3)\n"
    )
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": os.pathsep.join(sys.path)}
    result = subprocess.run(
        as_uid(65534, 65534, sys.executable, "-c", code, str(tmp_path / "krb5cc")),
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 3, result.stderr
    message = result.stdout
    assert "SHARER_OWNER_UID=65534 SHARER_OWNER_GID=65534" in message
    assert "CAP_CHOWN" in message and "uid 50000" in message
    assert not list(tmp_path.iterdir()), "nothing is left behind"
    tmp_path.rmdir()
