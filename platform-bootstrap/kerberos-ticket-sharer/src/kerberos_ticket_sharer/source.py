"""Find and read the user's credential cache (`FILE:` or `DIR:`) on the host."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from dataclasses import dataclass
from pathlib import Path

NOT_FILES = ("KCM:", "KEYRING:", "API:", "MEMORY:", "MSLSA:")


class UnsupportedCache(ValueError):
    """The cache type lives in a daemon or the kernel, not in a file the sharer can read."""


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
    for prefix in NOT_FILES:
        if name.upper().startswith(prefix):
            raise UnsupportedCache(
                f"credential cache {name} is a {prefix[:-1]} cache, which cannot be read as a "
                "file; on the host run `adp kerberos export` and share the FILE cache it writes "
                "(see docs/kerberos.md)"
            )
    if name.startswith("FILE:"):
        return Path(name[5:])
    if name.startswith("DIR::"):
        return Path(name[5:])
    if name.startswith("DIR:"):
        directory = Path(name[4:])
        try:
            primary = (directory / "primary").read_text().strip()
        except FileNotFoundError:
            primary = "tkt"
        if not primary or "/" in primary:
            raise UnsupportedCache(f"{directory}/primary names {primary!r}, not a cache file")
        return directory / primary
    if ":" in name.split("/")[0]:
        raise UnsupportedCache(f"credential cache {name} has an unknown type; use FILE: or DIR:")
    return Path(name)


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
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError):
        return None
    try:
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
