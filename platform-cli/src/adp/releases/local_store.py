"""The embedded release store: a local directory, no server.

Keys are files under the root. ``put_new`` writes a temporary file and hard-links it to its
key (``link`` fails if the key exists: create-only, and never a partial file); ``put_if`` takes
an exclusive ``flock`` on a lock file of the key, compares the sha256 of the current content
(the ETag) and swaps the new content in with ``os.replace``. Readers never lock: a key holds
the old content or the new one. A key's temporary and lock files live in the key's own folder
(``.adp-tmp-*``, ``.adp-lock-*``: names no key may have, left out of listings), so only those
who may write that folder (that package's publishers) can touch them: no shared folder where
one package's writer could swap another's bytes or hold its lock. A lock held too long is a
``Busy`` answer (retried, then reported), never a wait without end.

Links are refused, as an S3 store cannot have them: every key is reached from the root one
folder at a time with ``O_NOFOLLOW`` (``openat``), so a symbolic link anywhere below the root
(planted by someone who may write one package's folder) is an error when read or written
through and is left out of listings; nothing outside the root is ever read or written. The
root itself may be a link (the operator's choice of where the store lives).

Several users share one store (a publisher in CI, Airflow's dag-processor recording snapshots):
files are created as any file is (0666 less the umask, not mkstemp's 0600).
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import fcntl
import hashlib
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

from adp import fsatomic
from adp.releases.names import RESERVED_PREFIX, check_key
from adp.releases.store import (
    UNCHANGED,
    AlreadyExists,
    Blob,
    Busy,
    PreconditionFailed,
    StoreError,
    TooLarge,
    Unchanged,
)

INTERNAL = ".adp-store"  # where earlier versions kept temporary and lock files; never a key
TEMP = RESERVED_PREFIX + "tmp-"
LOCK = RESERVED_PREFIX + "lock-"
LOCK_WAIT = 10.0  # seconds a writer waits for a key's lock before answering Busy
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def etag_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class LocalStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root).absolute()

    @property
    def url(self) -> str:
        return self.root.as_uri()

    def _path(self, key: str) -> Path:
        """For messages only: every access goes through ``_folder``."""
        return self.root.joinpath(*check_key(key).split("/"))

    def _link_error(self, key: str, where: str) -> StoreError:
        return StoreError(
            f"{self.root / where}: a symbolic link in the release store (reading or writing "
            f"{key}); a store holds only folders and files, as an S3 bucket does: remove the link"
        )

    @contextlib.contextmanager
    def _folder(self, key: str, create: bool) -> Iterator[tuple[int, str] | None]:
        """An open descriptor of the folder of ``key`` and its last name, reached from the root
        without following a link; None when a folder on the way is missing (or is a file) and
        ``create`` is False."""
        parts = check_key(key).split("/")
        if create:
            self.root.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except (FileNotFoundError, NotADirectoryError):
            if create:
                raise StoreError(f"{self.root}: the release store is not a folder") from None
            yield None
            return
        try:
            for depth, part in enumerate(parts[:-1]):
                where = "/".join(parts[: depth + 1])
                try:
                    inner = os.open(part, _DIR, dir_fd=fd)
                except FileNotFoundError:
                    if not create:
                        yield None
                        return
                    with contextlib.suppress(FileExistsError):
                        os.mkdir(part, 0o777, dir_fd=fd)
                    inner = self._open_dir(part, fd, key, where)
                except OSError as error:
                    if error.errno == errno.ELOOP or self._is_link(part, fd):
                        raise self._link_error(key, where) from None
                    if error.errno == errno.ENOTDIR and not create:
                        yield None
                        return
                    raise StoreError(f"{self.root / where}: {error.strerror}") from None
                os.close(fd)
                fd = inner
            yield fd, parts[-1]
        finally:
            os.close(fd)

    def _open_dir(self, part: str, fd: int, key: str, where: str) -> int:
        try:
            return os.open(part, _DIR, dir_fd=fd)
        except OSError as error:
            if error.errno == errno.ELOOP or self._is_link(part, fd):
                raise self._link_error(key, where) from None
            raise StoreError(f"{self.root / where}: {error.strerror}") from None

    @staticmethod
    def _is_link(name: str, fd: int) -> bool:
        try:
            return stat.S_ISLNK(os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode)
        except OSError:
            return False

    def get(self, key: str, max_bytes: int | None = None) -> Blob | None:
        path = self._path(key)
        with self._folder(key, create=False) as folder:
            if folder is None:
                return None
            fd, name = folder
            try:
                handle = os.open(name, _FILE, dir_fd=fd)
            except FileNotFoundError:
                return None
            except OSError as error:
                if error.errno == errno.ELOOP or self._is_link(name, fd):
                    raise self._link_error(key, key) from None
                raise StoreError(f"{path}: cannot read it ({error.strerror})") from None
            try:
                info = os.fstat(handle)
                if not stat.S_ISREG(info.st_mode):
                    raise StoreError(f"{path}: not a file; a key of the store is a file")
                if max_bytes is not None and info.st_size > max_bytes:  # refused unread
                    raise TooLarge(key, self.url, info.st_size, max_bytes)
                os.set_blocking(handle, True)
                with os.fdopen(handle, "rb", closefd=False) as reader:
                    if max_bytes is None:
                        data = reader.read()
                    else:  # read(n) allocates n bytes first: n is the size fstat gave, + 1
                        data = reader.read(info.st_size + 1)
                        if len(data) > info.st_size:  # written to since fstat: still bounded
                            data += reader.read(max(max_bytes + 1 - len(data), 0))
                if max_bytes is not None and len(data) > max_bytes:
                    raise TooLarge(key, self.url, None, max_bytes)
            except OSError as error:
                raise StoreError(f"{path}: cannot read it ({error.strerror})") from None
            finally:
                os.close(handle)
        return Blob(data, etag_of(data))

    def put_new(self, key: str, data: bytes) -> str:
        path = self._path(key)
        with self._folder(key, create=True) as folder:
            assert folder is not None
            fd, name = folder
            try:
                temp = fsatomic.write_temp_at(fd, data, TEMP)  # 0666 less the umask
                try:
                    os.link(temp, name, src_dir_fd=fd, dst_dir_fd=fd, follow_symlinks=False)
                    fsatomic.fsync_folder_at(fd)
                finally:
                    os.unlink(temp, dir_fd=fd)
            except FileExistsError:
                raise AlreadyExists(f"{key} already exists in {self.url}") from None
            except OSError as error:
                raise StoreError(f"{path}: cannot create it ({error.strerror})") from None
        return etag_of(data)

    @contextlib.contextmanager
    def _locked(self, key: str, fd: int, name: str) -> Iterator[None]:
        """The exclusive lock of ``key`` (whose folder is ``fd``), waited for at most
        ``LOCK_WAIT`` seconds; Busy after that."""
        lock = LOCK + hashlib.sha256(name.encode()).hexdigest()[:32]
        # read-only is enough for flock; 0660: only the folder's owner and group may take it
        flags = os.O_RDONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            handle = os.open(lock, flags, 0o660, dir_fd=fd)
        except OSError as error:
            raise StoreError(f"{self._path(key)}: cannot lock it ({error.strerror})") from None
        try:
            deadline = time.monotonic() + LOCK_WAIT
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise Busy(
                            f"{key}: another writer held its lock for {LOCK_WAIT:g} s"
                        ) from None
                    time.sleep(0.02)
            yield
        finally:
            os.close(handle)  # releases the lock

    def put_if(self, key: str, data: bytes, etag: str | None) -> str:
        path = self._path(key)
        with self._folder(key, create=True) as folder:
            assert folder is not None
            fd, name = folder
            with self._locked(key, fd, name):
                current = self.get(key)
                if etag is None and current is not None:
                    raise PreconditionFailed(f"{key} was created by someone else in {self.url}")
                if etag is not None and (current is None or current.etag != etag):
                    raise PreconditionFailed(f"{key} changed since it was read, in {self.url}")
                try:
                    fsatomic.replace_at(fd, data, name, TEMP)  # 0666 less the umask
                except OSError as error:
                    raise StoreError(f"{path}: cannot write it ({error.strerror})") from None
        return etag_of(data)

    def delete(self, key: str) -> None:
        path = self._path(key)
        with self._folder(key, create=False) as folder:
            if folder is None:
                return
            fd, name = folder
            with self._locked(key, fd, name):
                try:
                    os.unlink(name, dir_fd=fd)
                except FileNotFoundError:
                    pass
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
                if name.startswith(RESERVED_PREFIX) or (here / name).is_symlink():
                    continue  # not an object: a temporary or lock file; a link is refused
                key = (here / name).relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    keys.append(key)
        yield from sorted(keys)

    def folders(self, prefix: str) -> builtins.list[str]:
        if not self.root.is_dir():
            raise StoreError(f"release store {self.root} does not exist; publish creates it")
        key = prefix.rstrip("/") + "/x"  # a key in the folder: reached without a link
        folder = self._path(key).parent
        with self._folder(key, create=False) as found:
            if found is None:
                return []
            fd, _ = found
            try:
                entries = list(os.scandir(fd))
            except OSError as error:
                raise StoreError(f"{folder}: cannot list it ({error.strerror})") from None
        return sorted(
            e.name for e in entries if e.is_dir(follow_symlinks=False) and e.name != INTERNAL
        )

    def get_changed(
        self, key: str, etag: str | None, max_bytes: int | None = None
    ) -> Blob | Unchanged | None:
        blob = self.get(key, max_bytes)  # a local read: as cheap as comparing
        if blob is not None and etag is not None and blob.etag == etag:
            return UNCHANGED
        return blob
