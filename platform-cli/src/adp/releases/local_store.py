"""The embedded release store: a local directory, no server.

Keys are files under the root. ``put_new`` writes a temporary file and hard-links it to its
key (``link`` fails if the key exists: create-only, and never a partial file); ``put_if`` takes
an exclusive ``flock`` on a lock file of the key, compares the sha256 of the current content
(the ETag) and swaps the new content in with ``os.replace``. Readers never lock: a key holds
the old content or the new one. Temporary and lock files live in ``<root>/.adp-store/``, which
no key can name (every key starts with an environment name, and those start with a letter).

Links are refused, as an S3 store cannot have them: every key is reached from the root one
folder at a time with ``O_NOFOLLOW`` (``openat``), so a symbolic link anywhere below the root
(planted by someone who may write one package's folder) is an error when read or written
through and is left out of listings; nothing outside the root is ever read or written. The
root itself may be a link (the operator's choice of where the store lives).

Several users share one store (a publisher in CI, Airflow's dag-processor recording snapshots):
files are created as any file is (0666 less the umask, not mkstemp's 0600), and the temporary
folder is shared like /tmp (mode 1777).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import stat
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
                if not stat.S_ISREG(os.fstat(handle).st_mode):
                    raise StoreError(f"{path}: not a file; a key of the store is a file")
                os.set_blocking(handle, True)
                with os.fdopen(handle, "rb", closefd=False) as reader:
                    data = reader.read()
            except OSError as error:
                raise StoreError(f"{path}: cannot read it ({error.strerror})") from None
            finally:
                os.close(handle)
        return Blob(data, etag_of(data))

    def put_new(self, key: str, data: bytes) -> str:
        path = self._path(key)
        temp = self._temp_with(data)
        try:
            with self._folder(key, create=True) as folder:
                assert folder is not None
                fd, name = folder
                os.link(temp, name, dst_dir_fd=fd, follow_symlinks=False)
        except FileExistsError:
            raise AlreadyExists(f"{key} already exists in {self.url}") from None
        except StoreError:
            raise
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
                with self._folder(key, create=True) as folder:
                    assert folder is not None
                    fd, name = folder
                    os.replace(temp, name, dst_dir_fd=fd)
            except OSError as error:
                raise StoreError(f"{path}: cannot write it ({error.strerror})") from None
            finally:
                temp.unlink(missing_ok=True)
        return etag_of(data)

    def delete(self, key: str) -> None:
        path = self._path(key)
        with self._locked(key), self._folder(key, create=False) as folder:
            if folder is None:
                return
            fd, name = folder
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
                if (here / name).is_symlink():
                    continue  # not an object: reading it is refused
                key = (here / name).relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    keys.append(key)
        yield from sorted(keys)

    def folders(self, prefix: str) -> list[str]:
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

    def get_changed(self, key: str, etag: str | None) -> Blob | Unchanged | None:
        blob = self.get(key)  # a local read: as cheap as comparing
        if blob is not None and etag is not None and blob.etag == etag:
            return UNCHANGED
        return blob
