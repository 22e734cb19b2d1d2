"""Find and read the user's credential cache (`FILE:` or `DIR:`) on the host."""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from kerberos_ticket_sharer import cache_names

# The cache-name grammar is cache_names' (one parser for the sharer, host-env and adp).
UnsupportedCache = cache_names.UnsupportedCache


@dataclass(frozen=True)
class Signature:
    """What changes when a cache file is rewritten; compared every poll instead of inotify."""

    path: str
    inode: int
    size: int
    mtime_ns: int
    ctime_ns: int


def resolve(name: str) -> Path:
    """The file holding the primary cache of `name` right now.

    `FILE:/p` and `/p` are the file itself; `DIR:/d` is the collection whose
    `primary` file names the current cache (`tkt` when absent, as in MIT krb5);
    `DIR::/d/tktX` is one cache of a collection.
    """
    cache = cache_names.parse(name)
    if cache.kind != "DIR":
        return cache.path
    try:
        primary = (cache.path / "primary").read_text().strip()
    except FileNotFoundError:
        primary = "tkt"
    if not primary or "/" in primary:
        raise UnsupportedCache(f"{cache.path}/primary names {primary!r}, not a cache file")
    return cache.path / primary


def signature(path: Path) -> Signature | None:
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return Signature(str(path), st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def read(path: Path, lock_timeout: float = 0.5) -> bytes | None:
    """The cache's bytes, read under a shared lock as MIT krb5 does; None if it is absent.

    MIT krb5 takes an fcntl lock while it writes a FILE cache; waiting for a shared
    lock (briefly) avoids most half-written reads, and the parser rejects the rest.
    """
    try:
        # O_NONBLOCK: opening a FIFO (or a device) must not block the poll loop forever.
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    except (FileNotFoundError, NotADirectoryError):
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise UnsupportedCache(
                f"{path} is not a regular file (a FIFO, socket or device); point "
                "KRB5CCNAME / SHARER_SOURCE_CCACHE at the credential cache file kinit writes"
            )
        deadline = time.monotonic() + lock_timeout
        locked = False
        while not locked:
            try:
                fcntl.lockf(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                locked = True
            except OSError:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.01)
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
        if locked:
            with contextlib.suppress(OSError):
                fcntl.lockf(fd, fcntl.LOCK_UN)
        return b"".join(chunks)
    finally:
        os.close(fd)
