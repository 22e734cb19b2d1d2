"""Content-addressed objects: ``objects/<sha256>``, written once and verified.

An object's bytes are checked (size and sha256) before they are written, to a temporary file in
the same folder that is made read-only and renamed into place: a process that stops half-way
leaves no partial object under its name. Writing does not wait for the disk; ``make_durable``
fsyncs a whole set of objects (concurrently, so the file system commits them together) and is
called before anything published links to them. An object that was never made durable may be
lost or damaged by a machine crash, so every reused object is verified again before a new
release links to it, and one that no longer matches its name is removed (and downloaded again
by the caller).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from concurrent.futures import Executor
from pathlib import Path

from adp.sync.errors import Corrupt
from adp.sync.layout import check_sha256, fsync_path, temp_name


def sha256_of_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_bytes(data: bytes, sha256: str, size: int | None, what: str) -> None:
    """Corrupt unless ``data`` has ``size`` bytes (when given) and hashes to ``sha256``."""
    if size is not None and len(data) != size:
        raise Corrupt(f"{what}: {len(data)} bytes, published with {size} (truncated or changed)")
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256:
        raise Corrupt(f"{what}: sha256 {actual[:16]}..., published as {sha256[:16]}...")


class Objects:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, sha256: str) -> Path:
        return self.folder / check_sha256(sha256)

    def has_verified(self, sha256: str, size: int | None = None) -> bool:
        """True if the object is here and whole; a damaged one is removed."""
        path = self.path(sha256)
        try:
            if size is not None and path.stat().st_size != size:
                path.unlink(missing_ok=True)
                return False
            if sha256_of_file(path) == sha256:
                return True
        except FileNotFoundError:
            return False
        path.unlink(missing_ok=True)
        return False

    def read(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()

    def add(self, data: bytes, sha256: str, size: int | None, what: str) -> Path:
        """Store verified ``data`` under its sha256 (Corrupt if it does not match), not yet
        durable: see ``make_durable``."""
        check_bytes(data, sha256, size, what)
        final = self.path(sha256)
        temp = temp_name(self.folder)
        try:
            with open(temp, "xb") as out:
                out.write(data)
            os.chmod(temp, 0o444)
            os.replace(temp, final)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        return final

    def make_durable(self, sha256s: Iterable[str], pool: Executor) -> None:
        """Wait until these objects (and their names) are on disk. One that a release folder
        links to already is: a folder is built only after this was done for its objects."""
        paths = [p for p in map(self.path, sha256s) if p.stat().st_nlink == 1]
        for _ in pool.map(fsync_path, paths):
            pass
        fsync_path(self.folder)
