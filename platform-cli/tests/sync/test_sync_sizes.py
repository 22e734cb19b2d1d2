"""Sizes a writer of one package's prefix chooses (issue 26): a release larger than the sync
folder's disk, and documents or objects far larger than they may be.

The invariant is the seed's promise: a store written only under ``<env>/pkg_a/`` never changes
what another package serves. A release that does not fit is pkg_a's error (refused before any
download; or, when the disk fills during its download, with its partial objects removed); a
disk full for everyone still fails the whole cycle, ``current`` kept. A pointer, manifest or
snapshot document larger than the documents' limit (8 MiB) and a release object larger than
its manifest says are refused without being read whole: tracemalloc's peak (and, for the
local store, the bytes this process read from files, /proc/self/io) show it. The sync folder
lives on a real tmpfs; both stores are real (a local folder, moto's S3 server on loopback).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import subprocess
import tempfile
import threading
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from adp.releases import names
from adp.releases.local_store import LocalStore
from adp.releases.manifest import Manifest, ManifestFile, content_sha256, now, pack_bytes
from adp.releases.pointer import move_pointer, read_pointer
from adp.releases.s3_store import S3Store
from adp.releases.store import DOCUMENT_MAX_BYTES, Blob, Store, TooLarge
from adp.sync import Syncer, materialize_snapshot
from adp.sync.agent import Agent
from adp.sync.health import read_health
from adp_test_helpers.release_corpus import new_bucket
from adp_test_helpers.sync_support import CountingStore, publish_files, read_current
from adp_test_servers.s3 import S3Server
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

MiB = 1 << 20
DISK = 2 * MiB  # the reviewer's tmpfs
A1 = {"pkg_a_daily.py": b"# a v1\n"}
B1 = {"pkg_b_daily.py": b"# b v1\n"}
B2 = {"pkg_b_daily.py": b"# b v2\n"}
B3 = {"pkg_b_daily.py": b"# b v3\n"}


# -- helpers ----------------------------------------------------------------------------------


@contextmanager
def small_disk(where: Path, size: int = DISK) -> Iterator[Path]:
    """A tmpfs of ``size`` bytes mounted at ``where`` (the tests of a full disk need root, as
    CI has)."""
    where.mkdir(parents=True, exist_ok=True)
    answer = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
        capture_output=True,
        text=True,
        check=False,
    )
    if answer.returncode != 0:
        pytest.fail(f"cannot mount a tmpfs at {where} (needs root): {answer.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=True)


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    with small_disk(tmp_path / "small") as mount:
        yield mount


def served(sync_dir: Path, package: str) -> dict[str, bytes]:
    return {
        path.removeprefix(f"{package}/"): data
        for path, data in read_current(sync_dir).items()
        if path.startswith(f"{package}/")
    }


def sha256s(files: dict[str, bytes]) -> set[str]:
    return {hashlib.sha256(data).hexdigest() for data in files.values()}


def objects_here(sync_dir: Path) -> set[str]:
    return {p.name for p in (sync_dir / "objects").iterdir()}


def temporaries(sync_dir: Path) -> list[Path]:
    return list(sync_dir.rglob(".tmp-*"))


def free_bytes(folder: Path) -> int:
    vfs = os.statvfs(folder)
    return vfs.f_bavail * vfs.f_frsize


def fill(folder: Path, leave: int) -> Path:
    """Write ``folder/filler`` until at most ``leave`` bytes of its disk are free."""
    filler = folder / "filler"
    chunk = b"\xff" * (64 << 10)
    with open(filler, "ab", buffering=0) as out:
        while (room := free_bytes(folder) - leave) > 0:
            try:
                out.write(chunk[: min(len(chunk), room)])
            except OSError as error:
                if error.errno != errno.ENOSPC:
                    raise
                break
    return filler


class Watching(CountingStore):
    """A real store in front of another that records the keys read and, given ``fill``, fills
    the sync folder's disk (leaving ``leave`` bytes free) when a key under ``fill`` is first
    read: another program writing to the same disk after the agent checked the room and before
    it wrote."""

    def __init__(
        self, inner: Store, disk: Path | None = None, leave: int = 0, fill: str | None = None
    ) -> None:
        super().__init__(inner)
        self.disk, self.leave, self.trigger = disk, leave, fill
        self.keys: list[str] = []
        self.filler: Path | None = None
        self.fill_lock = threading.Lock()

    def get(self, key: str, max_bytes: int | None = None) -> Blob | None:
        with self.fill_lock:
            self.keys.append(key)
            if self.trigger and self.filler is None and key.startswith(self.trigger):
                assert self.disk is not None
                self.filler = fill(self.disk, self.leave)
        return super().get(key, max_bytes=max_bytes)


def read_chars() -> int:
    """The bytes this process has read with read() so far (files, pipes; not sockets)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("/proc/self/io has no rchar")


@contextmanager
def measured() -> Iterator[dict[str, int]]:
    """The peak of Python's allocations meanwhile (``peak``) and the bytes read (``read``)."""
    seen: dict[str, int] = {}
    before = read_chars()
    tracemalloc.start()
    try:
        yield seen
    finally:
        seen["peak"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        seen["read"] = read_chars() - before


def is_local(store: Store) -> bool:
    inner = store.inner if isinstance(store, CountingStore) else store
    return isinstance(inner, LocalStore)


def huge_size(store: Store) -> int:
    """64 MiB on the local store, 24 MiB through moto (which holds objects in memory)."""
    return 64 * MiB if is_local(store) else 24 * MiB


def assert_not_read_whole(store: Store, seen: dict[str, int], size: int) -> None:
    """Less than 1 MiB held or read for an object of ``size`` (tens of MiB): a cycle's own
    peak is some tens of KiB."""
    assert seen["peak"] < MiB, f"peak of {seen['peak']} bytes: read whole ({size})"
    if is_local(store):
        assert seen["read"] < MiB, f"{seen['read']} bytes read of {size}"


def publish_with_manifest(store: Store, package: str, version: str, files: dict[str, bytes],
                          pad: int) -> bytes:  # fmt: skip
    """A release as publish writes it, its manifest followed by ``pad`` spaces (still valid
    JSON, and the pointer names the padded bytes' sha256); returns the manifest's bytes."""
    listed = [
        ManifestFile(path=p, size=len(d), sha256=hashlib.sha256(d).hexdigest())
        for p, d in sorted(files.items())
    ]
    manifest = Manifest(
        env="dev", package=package, version=version, created_at=now(), publisher="ci",
        content_sha256=content_sha256(listed), files=listed,
    )  # fmt: skip
    for path, data in files.items():
        store.put_new(names.file_key("dev", package, version, path), data)
    store.put_new(names.pack_key("dev", package, version), pack_bytes(listed, files))
    data = manifest.to_bytes() + b" " * pad
    store.put_new(names.manifest_key("dev", package, version), data)
    expected = read_pointer(store, "dev", package)
    move_pointer(store, "dev", package, version, data, expected, "ci", "publish")
    return data


# -- a release larger than the disk: that package's error -------------------------------------


def test_a_release_too_big_for_the_disk_is_that_packages_error(
    store: CountingStore, disk: Path
) -> None:
    """The reviewer's case: on a 2 MiB disk pkg_a publishes a 3 MiB file. Before: every later
    cycle failed ("disk full") and pkg_b stayed on v1. Now pkg_a is refused before any
    download, with what it needs and what is free, and pkg_b's releases arrive."""
    sync_dir = disk / "sync"
    watching = Watching(store)
    publish_files(watching, "dev", "pkg_a", "v1", A1)
    publish_files(watching, "dev", "pkg_b", "v1", B1)
    agent = Agent(Syncer(watching, "dev", sync_dir), interval=30)
    assert agent.run_cycle().status == "ok"
    big = {"pkg_a_daily.py": b"# a v2\n", "big.bin": os.urandom(3 * MiB)}
    publish_files(watching, "dev", "pkg_a", "v2", big)
    publish_files(watching, "dev", "pkg_b", "v2", B2)
    result = agent.run_cycle()
    assert result.status == "degraded" and set(result.package_errors) == {"pkg_a"}, result
    message = result.package_errors["pkg_a"]
    assert "release v2 of dev/pkg_a does not fit" in message and "MiB" in message, message
    assert "free" in message and "needs" in message, message
    assert served(sync_dir, "pkg_b") == B2 and served(sync_dir, "pkg_a") == A1
    assert not objects_here(sync_dir) & sha256s(big) and not temporaries(sync_dir)
    health = read_health(sync_dir / "health.json")
    assert health is not None and health["status"] == "degraded"
    assert health["packages"]["pkg_a"]["error"] == message
    publish_files(watching, "dev", "pkg_b", "v3", B3)
    again = agent.run_cycle()
    assert again.status == "degraded" and set(again.package_errors) == {"pkg_a"}
    assert served(sync_dir, "pkg_b") == B3 and served(sync_dir, "pkg_a") == A1
    # refused from its manifest alone: none of its 3 MiB was downloaded
    assert not [k for k in watching.keys if k.startswith("dev/pkg_a/releases/v2/files")]


def test_a_disk_that_fills_during_one_download_is_that_packages_error_and_keeps_no_part(
    store: CountingStore, disk: Path
) -> None:
    """pkg_a's release fits when the agent checks, then another program fills the disk during
    its download (leaving 400 KiB) and the 1 MiB object hits ENOSPC: pkg_a's error, the object
    it had already written removed, pkg_b served; with the space back pkg_a is served too."""
    sync_dir = disk / "sync"
    filling = Watching(store, disk, 400 << 10, fill="dev/pkg_a/releases/v2/files")
    publish_files(filling, "dev", "pkg_a", "v1", A1)
    publish_files(filling, "dev", "pkg_b", "v1", B1)
    syncer = Syncer(filling, "dev", sync_dir)
    assert syncer.cycle().status == "ok"
    a2 = {"pkg_a_daily.py": os.urandom(20 << 10), "zz_big.bin": os.urandom(MiB)}
    publish_files(filling, "dev", "pkg_a", "v2", a2)
    publish_files(filling, "dev", "pkg_b", "v2", B2)
    result = syncer.cycle()
    assert filling.filler is not None  # the disk did fill during pkg_a's download
    assert result.status == "degraded" and set(result.package_errors) == {"pkg_a"}, result
    assert "no space left" in result.package_errors["pkg_a"], result.package_errors
    assert served(sync_dir, "pkg_b") == B2 and served(sync_dir, "pkg_a") == A1
    assert not objects_here(sync_dir) & sha256s(a2) and not temporaries(sync_dir)
    filling.filler.unlink()
    assert syncer.cycle().status == "ok"
    assert served(sync_dir, "pkg_a") == a2 and served(sync_dir, "pkg_b") == B2


def test_a_disk_full_for_everyone_still_fails_the_cycle_and_keeps_current(
    store: CountingStore, disk: Path
) -> None:
    """Today's behaviour, kept: when the disk is full for everyone (nothing left once pkg_a's
    partial objects are removed) the cycle fails with "disk full" and current stays; the next
    cycle with space serves every new release."""
    sync_dir = disk / "sync"
    filling = Watching(store, disk, 0, fill="dev/pkg_a/releases/v2/files")
    publish_files(filling, "dev", "pkg_a", "v1", A1)
    publish_files(filling, "dev", "pkg_b", "v1", B1)
    syncer = Syncer(filling, "dev", sync_dir)
    assert syncer.cycle().status == "ok"
    a2 = {"pkg_a_daily.py": os.urandom(20 << 10), "zz_big.bin": os.urandom(MiB)}
    publish_files(filling, "dev", "pkg_a", "v2", a2)
    publish_files(filling, "dev", "pkg_b", "v2", B2)
    result = syncer.cycle()
    assert result.status == "failed" and (result.error or "").startswith("disk full"), result
    assert served(sync_dir, "pkg_a") == A1 and served(sync_dir, "pkg_b") == B1
    assert not objects_here(sync_dir) & sha256s(a2) and not temporaries(sync_dir)
    assert filling.filler is not None
    filling.filler.unlink()
    assert syncer.cycle().status == "ok"
    assert served(sync_dir, "pkg_a") == a2 and served(sync_dir, "pkg_b") == B2


def test_what_one_package_left_behind_never_keeps_another_off_the_disk(
    store: CountingStore, disk: Path
) -> None:
    """pkg_a's release has a corrupt file: its good 1.2 MiB object stays in objects/ for the next
    try, as any verified download does. pkg_b's 900 KiB release fits only once that leftover is
    gone: it is removed to make room, and pkg_b is served."""
    sync_dir = disk / "sync"
    publish_files(store, "dev", "pkg_a", "v1", A1)
    publish_files(store, "dev", "pkg_b", "v1", B1)
    syncer = Syncer(store, "dev", sync_dir)
    assert syncer.cycle().status == "ok"
    a2 = {"pkg_a_big.bin": os.urandom(1200 << 10), "pkg_a_daily.py": b"# a v2\n"}
    publish_files(store, "dev", "pkg_a", "v2", a2, corrupt="pkg_a_daily.py")
    b2 = {"pkg_b_daily.py": b"# b v2\n", "pkg_b_data.bin": os.urandom(900 << 10)}
    publish_files(store, "dev", "pkg_b", "v2", b2)
    result = syncer.cycle()
    assert result.status == "degraded" and set(result.package_errors) == {"pkg_a"}, result
    assert "sha256" in result.package_errors["pkg_a"]  # its own error: the corrupt file
    assert served(sync_dir, "pkg_b") == b2 and served(sync_dir, "pkg_a") == A1
    assert not temporaries(sync_dir)


@settings(max_examples=12, deadline=None)
@given(
    sizes=st.lists(
        st.one_of(st.integers(0, 64 << 10), st.integers(MiB // 2, 3 * MiB // 2)),
        min_size=1,
        max_size=4,
    )
)
def test_no_release_size_of_one_package_keeps_another_from_its_disk(sizes: list[int]) -> None:
    """Any sizes of pkg_a's new release on a 2 MiB disk: pkg_b's new release is served, pkg_a
    is served whole or refused as its own error, and no part of a refused release stays."""
    with tempfile.TemporaryDirectory(prefix="adp-sizes-") as folder:
        root = Path(folder)
        with small_disk(root / "small") as mount:
            store = LocalStore(root / "store")
            sync_dir = mount / "sync"
            publish_files(store, "dev", "pkg_a", "v1", A1)
            publish_files(store, "dev", "pkg_b", "v1", B1)
            syncer = Syncer(store, "dev", sync_dir)
            assert syncer.cycle().status == "ok"
            a2 = {f"pkg_a_{n}.bin": os.urandom(size) for n, size in enumerate(sizes)}
            publish_files(store, "dev", "pkg_a", "v2", a2)
            publish_files(store, "dev", "pkg_b", "v2", B2)
            result = syncer.cycle()
            assert result.status != "failed", result
            assert set(result.package_errors) <= {"pkg_a"}
            assert served(sync_dir, "pkg_b") == B2
            total = sum(sizes)
            if "pkg_a" in result.package_errors:
                assert "does not fit" in result.package_errors["pkg_a"]
                assert served(sync_dir, "pkg_a") == A1 and total > MiB
                assert not objects_here(sync_dir) & (sha256s(a2) - sha256s(A1))
            else:
                assert served(sync_dir, "pkg_a") == a2 and total <= DISK
            assert not temporaries(sync_dir)


# -- documents and objects larger than they may be: refused without reading them whole ---------


@pytest.mark.parametrize("document", ["pointer", "manifest"])
def test_a_huge_pointer_or_manifest_is_that_packages_error_and_never_read_whole(
    store: CountingStore, tmp_path: Path, document: str
) -> None:
    """pkg_a's pointer (or the manifest it names) is valid JSON padded with spaces to 64 MiB
    (24 MiB through moto). Before: read whole into memory (a multi-GB one gets the agent
    OOM-killed), and accepted. Now pkg_a's error naming the key and the limit, read no
    further than its size, and pkg_b's new release is served."""
    sync_dir = tmp_path / "sync"
    publish_files(store, "dev", "pkg_a", "v1", A1)
    publish_files(store, "dev", "pkg_b", "v1", B1)
    syncer = Syncer(store, "dev", sync_dir)
    assert syncer.cycle().status == "ok"
    size = huge_size(store)
    a2 = {"pkg_a_daily.py": b"# a v2\n"}
    if document == "pointer":
        publish_files(store, "dev", "pkg_a", "v2", a2)
        key = names.pointer_key("dev", "pkg_a")
        blob = store.get(key)
        assert blob is not None
        store.put_if(key, blob.data + b" " * (size - len(blob.data)), blob.etag)
    else:
        publish_with_manifest(store, "pkg_a", "v2", a2, size)
        key = names.manifest_key("dev", "pkg_a", "v2")
    publish_files(store, "dev", "pkg_b", "v2", B2)
    with measured() as seen:
        result = syncer.cycle()
    assert result.status == "degraded" and set(result.package_errors) == {"pkg_a"}, result
    message = result.package_errors["pkg_a"]
    assert message.startswith(f"{key}: ") and "at most 8 MiB" in message, message
    assert served(sync_dir, "pkg_b") == B2 and served(sync_dir, "pkg_a") == A1
    assert_not_read_whole(store, seen, size)


@pytest.mark.parametrize("extra", [0, 1])
def test_a_pointer_of_the_limit_is_read_and_one_byte_more_is_refused(
    tmp_path: Path, extra: int
) -> None:
    """The limit is exactly DOCUMENT_MAX_BYTES (8 MiB, as docs/dag-sync.md says): a pointer of
    that size is read, one byte more is pkg_a's error."""
    assert 8 * MiB == DOCUMENT_MAX_BYTES
    store = LocalStore(tmp_path / "store")
    publish_files(store, "dev", "pkg_a", "v1", A1)
    publish_files(store, "dev", "pkg_b", "v1", B1)
    key = names.pointer_key("dev", "pkg_a")
    blob = store.get(key)
    assert blob is not None
    padded = blob.data + b" " * (DOCUMENT_MAX_BYTES + extra - len(blob.data))
    store.put_if(key, padded, blob.etag)
    result = Syncer(store, "dev", tmp_path / "sync").cycle()
    assert served(tmp_path / "sync", "pkg_b") == B1
    if extra:
        assert result.status == "degraded" and set(result.package_errors) == {"pkg_a"}
        assert "at most 8 MiB" in result.package_errors["pkg_a"]
    else:
        assert result.status == "ok", result
        assert served(tmp_path / "sync", "pkg_a") == A1


@pytest.mark.parametrize("which", ["file", "pack"])
def test_a_release_object_larger_than_its_manifest_says_is_never_read_whole(
    store: CountingStore, tmp_path: Path, which: str
) -> None:
    """pkg_a's release file (or its pack) is replaced by 64 MiB (24 through moto) after its
    manifest was written. Before: read whole, then found corrupt. Now read only up to the size
    the manifest gives it (plus one byte): a file is Corrupt, pkg_a's error; a pack is passed
    over and the files are downloaded one by one."""
    sync_dir = tmp_path / "sync"
    publish_files(store, "dev", "pkg_a", "v1", A1)
    publish_files(store, "dev", "pkg_b", "v1", B1)
    syncer = Syncer(store, "dev", sync_dir)
    assert syncer.cycle().status == "ok"
    size = huge_size(store)
    a2 = {"pkg_a_daily.py": b"# a v2\n", "sql/a.sql": b"select 2;\n"}
    publish_files(store, "dev", "pkg_a", "v2", a2, pack=which == "pack")
    if which == "file":
        key = names.file_key("dev", "pkg_a", "v2", "pkg_a_daily.py")
    else:
        key = names.pack_key("dev", "pkg_a", "v2")
    store.delete(key)
    store.put_new(key, b"#" * size)
    publish_files(store, "dev", "pkg_b", "v2", B2)
    with measured() as seen:
        result = syncer.cycle()
    assert served(sync_dir, "pkg_b") == B2
    if which == "file":
        assert result.status == "degraded" and set(result.package_errors) == {"pkg_a"}
        message = result.package_errors["pkg_a"]
        assert message.startswith(f"{key}: ") and "published with 7" in message, message
        assert served(sync_dir, "pkg_a") == A1
    else:
        assert result.status == "ok", result
        assert served(sync_dir, "pkg_a") == a2
    assert_not_read_whole(store, seen, size)
    assert not temporaries(sync_dir)


def test_a_huge_snapshot_document_is_refused_without_reading_it_whole(
    store: CountingStore, tmp_path: Path
) -> None:
    """A worker rebuilding a pinned snapshot whose document is valid JSON padded to 64 MiB (24
    through moto), hashing to its id: refused, naming the key and the limit, never read whole.
    Before: read whole and accepted."""
    doc = json.dumps({"env": "dev", "packages": {}}, sort_keys=True, separators=(",", ":"))
    size = huge_size(store)
    data = doc.encode() + b" " * (size - len(doc))
    snapshot_id = hashlib.sha256(data).hexdigest()
    key = f"dev/_snapshots/{snapshot_id}.json"
    store.put_new(key, data)
    with measured() as seen, pytest.raises(Exception, match="at most 8 MiB") as raised:
        materialize_snapshot(store, "dev", snapshot_id, tmp_path / "worker")
    assert key in str(raised.value)
    assert_not_read_whole(store, seen, size)


# -- the store's bounded read, for any size and limit -------------------------------------------


def check_bounded_get(store: Store, size: int, limit: int) -> None:
    key = f"dev/pkg_a/releases/v{size}-{limit}/files/x.bin"
    data = os.urandom(size)
    store.put_new(key, data)
    if size <= limit:
        blob = store.get(key, max_bytes=limit)
        assert blob is not None and blob.data == data
        changed = store.get_changed(key, "0" * 32, max_bytes=limit)
        assert isinstance(changed, Blob) and changed.data == data
        assert store.get(key) == blob  # no limit: as before
    else:
        with pytest.raises(TooLarge) as raised:
            store.get(key, max_bytes=limit)
        assert str(raised.value).startswith(f"{key}: ") and str(limit) in str(raised.value)
        with pytest.raises(TooLarge):
            store.get_changed(key, "0" * 32, max_bytes=limit)
    assert store.get("dev/pkg_a/none.json", max_bytes=limit) is None


@settings(max_examples=60, deadline=None)
@given(size=st.integers(0, 1 << 16), limit=st.integers(0, 1 << 16))
def test_a_bounded_get_returns_an_object_only_when_it_fits_on_the_local_store(
    size: int, limit: int
) -> None:
    with tempfile.TemporaryDirectory(prefix="adp-sizes-") as folder:
        check_bounded_get(LocalStore(Path(folder) / "store"), size, limit)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(size=st.integers(0, 1 << 16), limit=st.integers(0, 1 << 16))
def test_a_bounded_get_returns_an_object_only_when_it_fits_on_s3(
    s3_env: S3Server, size: int, limit: int
) -> None:
    check_bounded_get(S3Store(new_bucket(s3_env), s3_env.endpoint), size, limit)
