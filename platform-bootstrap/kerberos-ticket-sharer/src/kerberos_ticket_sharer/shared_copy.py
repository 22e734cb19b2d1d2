"""The one file the sharer promises: `<target_dir>/krb5cc`, always complete, readable by one user.

Invariant: at every instant the target path is either absent or a complete
credential cache owned by the datakit user (uid 50000) with mode 0400. It is
written to a temporary file in the same directory, given its owner and mode,
flushed, and then renamed over the target, so a reader opens either the old
inode or the new one, never a half-written file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

TEMP_SUFFIX = ".tmp"


class SharedCopyError(OSError):
    """The shared directory cannot be prepared or written."""


def prepare_directory(directory: Path, mode: int) -> None:
    """Make `directory` ours with `mode` (0711: the datakit user may open files, not list).

    The volume may have been created by a datakit first, owned by its user; the
    sharer needs CAP_CHOWN for that case and nothing broader (no DAC_OVERRIDE).
    """
    try:
        directory.mkdir(parents=True, exist_ok=True)
        st = directory.stat()
        if st.st_uid != os.geteuid():
            os.chown(directory, os.geteuid(), os.getegid())
        if (st.st_mode & 0o7777) != mode:
            os.chmod(directory, mode)
    except OSError as exc:
        raise SharedCopyError(
            exc.errno,
            f"cannot prepare shared directory {directory}: {exc.strerror}; the sharer runs as "
            "root with CAP_CHOWN (see docker-compose.yml) or as the directory's owner",
        ) from exc
    for stale in directory.glob(f".*{TEMP_SUFFIX}"):
        with contextlib.suppress(OSError):
            stale.unlink()


def write_atomically(target: Path, data: bytes, *, uid: int, gid: int, mode: int) -> None:
    """Replace `target` with `data`, owned by uid:gid with `mode`, in one rename."""
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=TEMP_SUFFIX, dir=target.parent)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            # Mode before owner: once the file belongs to uid 50000, root without
            # CAP_FOWNER could no longer change its mode.
            os.fchmod(fd, mode)
            if (uid, gid) != (os.geteuid(), os.getegid()):
                try:
                    os.fchown(fd, uid, gid)
                except PermissionError as exc:
                    raise SharedCopyError(
                        exc.errno,
                        f"cannot give the shared copy {target} to uid {uid}, gid {gid} "
                        "(SHARER_OWNER_UID, SHARER_OWNER_GID): the sharer runs as uid "
                        f"{os.geteuid()} without CAP_CHOWN. Run it as root with CAP_CHOWN "
                        "(docker-compose.yml does), or set SHARER_OWNER_UID="
                        f"{os.geteuid()} SHARER_OWNER_GID={os.getegid()} when the datakits "
                        "run as this user",
                    ) from exc
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    dir_fd = os.open(target.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def read(target: Path) -> bytes | None:
    try:
        return target.read_bytes()
    except FileNotFoundError:
        return None


def remove(target: Path) -> bool:
    try:
        target.unlink()
    except FileNotFoundError:
        return False
    return True
