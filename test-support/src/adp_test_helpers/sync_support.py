"""Helpers of the sync tests: publishing a release the way ``adp dags publish`` writes it,
a Store wrapper counting calls, and a
reader of the tree behind ``current``."""

from __future__ import annotations

import hashlib
import os
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from adp.releases import names
from adp.releases.manifest import (
    Manifest,
    ManifestDag,
    ManifestFile,
    content_sha256,
    now,
    pack_bytes,
)
from adp.releases.pointer import move_pointer, read_pointer
from adp.releases.store import Blob, Store, Unchanged


def publish_files(
    store: Store,
    env: str,
    package: str,
    version: str,
    files: dict[str, bytes],
    corrupt: str | None = None,
    pack: bool = True,
    dags: list[str] | None = None,
):
    """Write a release as publish does (files, their pack, then the manifest, then the pointer
    move); ``corrupt`` names a file uploaded with other bytes (of the same size) than its
    manifest's, in the pack too; without ``pack`` the release is one published before packs;
    ``dags``: the DAG ids its manifest lists."""
    listed = [
        ManifestFile(path=p, size=len(d), sha256=hashlib.sha256(d).hexdigest())
        for p, d in sorted(files.items())
    ]
    manifest = Manifest(
        env=env, package=package, version=version, created_at=now(), publisher="test@host",
        content_sha256=content_sha256(listed), files=listed,
        dags=[ManifestDag(dag_id=d, path=listed[0].path) for d in dags or []],
    )  # fmt: skip
    uploaded = dict(files)
    if corrupt is not None:
        uploaded[corrupt] = bytes([files[corrupt][0] ^ 1]) + files[corrupt][1:]
    for path, data in uploaded.items():
        store.put_new(names.file_key(env, package, version, path), data)
    if pack:
        store.put_new(names.pack_key(env, package, version), pack_bytes(listed, uploaded))
    data = manifest.to_bytes()
    store.put_new(names.manifest_key(env, package, version), data)
    expected = read_pointer(store, env, package)
    return move_pointer(store, env, package, version, data, expected, "test@host", "publish")


class CountingStore:
    """A real Store in front of another, counting each call by operation (and the most
    ``get`` calls that were running at once)."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.calls: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.running = self.most_running = 0

    def _count(self, name: str) -> None:
        with self.lock:
            self.calls[name] += 1

    @property
    def url(self) -> str:
        return self.inner.url

    def get(self, key: str, max_bytes: int | None = None) -> Blob | None:
        self._count("get")
        with self.lock:
            self.running += 1
            self.most_running = max(self.most_running, self.running)
        try:
            return self.inner.get(key, max_bytes=max_bytes)
        finally:
            with self.lock:
                self.running -= 1

    def get_changed(
        self, key: str, etag: str | None, max_bytes: int | None = None
    ) -> Blob | Unchanged | None:
        self._count("get_changed")
        return self.inner.get_changed(key, etag, max_bytes=max_bytes)

    def put_new(self, key: str, data: bytes) -> str:
        self._count("put_new")
        return self.inner.put_new(key, data)

    def put_if(self, key: str, data: bytes, etag: str | None) -> str:
        self._count("put_if")
        return self.inner.put_if(key, data, etag)

    def list(self, prefix: str) -> Iterator[str]:
        self._count("list")
        return self.inner.list(prefix)

    def folders(self, prefix: str) -> list[str]:
        self._count("folders")
        return self.inner.folders(prefix)

    def delete(self, key: str) -> None:
        self._count("delete")
        self.inner.delete(key)


def read_tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (links followed, as Airflow's file walker does)."""
    files: dict[str, bytes] = {}
    for folder, _dirs, entries in os.walk(root, followlinks=True):
        for name in entries:
            path = Path(folder) / name
            files[path.relative_to(root).as_posix()] = path.read_bytes()
    return files


def read_current(sync_dir: Path) -> dict[str, bytes]:
    """Resolve ``current`` once, then read everything under what it named."""
    return read_tree((sync_dir / "current").resolve())
