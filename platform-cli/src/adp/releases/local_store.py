"""The embedded release store: a local directory, no server.

Keys are files under the root. ``put_new`` writes a temporary file and hard-links it to its
key (``link`` fails if the key exists: create-only, and never a partial file); ``put_if`` takes
an exclusive ``flock`` on a lock file of the key, compares the sha256 of the current content
(the ETag) and swaps the new content in with ``os.replace``. Readers never lock: a key holds
the old content or the new one. Temporary and lock files live in ``<root>/.adp-store/``, which
no key can name (every key starts with an environment name, and those start with a letter).

Several users share one store (a publisher in CI, Airflow's dag-processor recording snapshots):
files are created as any file is (0666 less the umask, not mkstemp's 0600), and the temporary
folder is shared like /tmp (mode 1777).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

from adp.releases.names import check_key
from adp.releases.store import (
    UNCHANGED,
    AlreadyExists,
    Blob,
    PreconditionFailed,
    StoreError,
    Unchanged,
)

INTERNAL = ".adp-store"


def etag_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class LocalStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root).absolute()

    @property
    def url(self) -> str:
        return self.root.as_uri()

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*check_key(key).split("/"))

    def _internal(self, name: str) -> Path:
        folder = self.root / INTERNAL / name
        if not folder.is_dir():
            folder.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(OSError):  # made by another user: theirs to set
                folder.chmod(0o1777)
        return folder

    def _temp_with(self, data: bytes) -> Path:
        path = self._internal("tmp") / uuid.uuid4().hex
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        return path

    def get(self, key: str) -> Blob | None:
        path = self._path(key)
        try:
            data = path.read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as error:
            raise StoreError(f"{path}: cannot read it ({error.strerror})") from None
        return Blob(data, etag_of(data))

    def put_new(self, key: str, data: bytes) -> str:
        path = self._path(key)
        temp = self._temp_with(data)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            os.link(temp, path)
        except FileExistsError:
            raise AlreadyExists(f"{key} already exists in {self.url}") from None
        except OSError as error:
            raise StoreError(f"{path}: cannot create it ({error.strerror})") from None
        finally:
            temp.unlink(missing_ok=True)
        return etag_of(data)

    @contextlib.contextmanager
    def _locked(self, key: str) -> Iterator[None]:
        name = hashlib.sha256(key.encode()).hexdigest()
        with open(self._internal("locks") / name, "a+b") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def put_if(self, key: str, data: bytes, etag: str | None) -> str:
        path = self._path(key)
        with self._locked(key):
            current = self.get(key)
            if etag is None and current is not None:
                raise PreconditionFailed(f"{key} was created by someone else in {self.url}")
            if etag is not None and (current is None or current.etag != etag):
                raise PreconditionFailed(f"{key} changed since it was read, in {self.url}")
            temp = self._temp_with(data)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                os.replace(temp, path)
            except OSError as error:
                temp.unlink(missing_ok=True)
                raise StoreError(f"{path}: cannot write it ({error.strerror})") from None
        return etag_of(data)

    def delete(self, key: str) -> None:
        path = self._path(key)
        with self._locked(key):
            try:
                path.unlink(missing_ok=True)
            except OSError as error:
                raise StoreError(f"{path}: cannot remove it ({error.strerror})") from None

    def list(self, prefix: str) -> Iterator[str]:
        if not self.root.is_dir():
            raise StoreError(f"release store {self.root} does not exist; publish creates it")
        keys = []
        for folder, dirs, files in os.walk(self.root):
            here = Path(folder)
            if here == self.root:
                dirs[:] = [d for d in dirs if d != INTERNAL]
            for name in files:
                key = (here / name).relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    keys.append(key)
        yield from sorted(keys)

    def folders(self, prefix: str) -> list[str]:
        if not self.root.is_dir():
            raise StoreError(f"release store {self.root} does not exist; publish creates it")
        folder = self.root.joinpath(*check_key(prefix.rstrip("/")).split("/"))
        try:
            entries = list(os.scandir(folder))
        except (FileNotFoundError, NotADirectoryError):
            return []
        except OSError as error:
            raise StoreError(f"{folder}: cannot list it ({error.strerror})") from None
        return sorted(e.name for e in entries if e.is_dir() and e.name != INTERNAL)

    def get_changed(self, key: str, etag: str | None) -> Blob | Unchanged | None:
        blob = self.get(key)  # a local read: as cheap as comparing
        if blob is not None and etag is not None and blob.etag == etag:
            return UNCHANGED
        return blob
