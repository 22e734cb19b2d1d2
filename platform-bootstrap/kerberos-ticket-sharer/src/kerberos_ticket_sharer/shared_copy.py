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
import stat
import tempfile
from pathlib import Path

TEMP_SUFFIX = ".tmp"


class SharedCopyError(OSError):
    """The shared directory cannot be prepared or written."""


def _refuse(directory: Path, why: str) -> SharedCopyError:
    return SharedCopyError(
        1,
        f"will not use SHARER_TARGET_DIR={directory}: {why}. The sharer writes only into a "
        "directory of its own (the platform_kerberos_cache volume, or an empty directory); "
        "point SHARER_TARGET_DIR at one",
    )


def _ours(name: str, target_name: str) -> bool:
    """The names the sharer creates: the shared copy and its temporary files."""
    return name == target_name or (
        name.startswith(f".{target_name}.") and name.endswith(TEMP_SUFFIX)
    )


def prepare_directory(directory: Path, mode: int, target_name: str) -> None:
    """Make `directory` ours with `mode` (0711: the datakit user may open files, not list).

    Only a directory the sharer may take is touched: one it creates, or an existing real
    directory (not a link), not writable by every user, that holds nothing but the sharer's
    own files (a fresh volume, possibly created by a datakit first and owned by its user: the
    sharer needs CAP_CHOWN for that case and nothing broader, no DAC_OVERRIDE). Anything else
    is refused with a message and left exactly as it was. At start it removes only its own
    left-over temporary files: regular files it owns, named `.<target>.*.tmp`.
    """
    try:
        st = os.lstat(directory)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise SharedCopyError(exc.errno, f"cannot inspect {directory}: {exc.strerror}") from exc
    if st is not None:
        if stat.S_ISLNK(st.st_mode):
            raise _refuse(directory, f"it is a symbolic link (to {os.readlink(directory)})")
        if not stat.S_ISDIR(st.st_mode):
            raise _refuse(directory, "it is not a directory")
        others = sorted(e for e in os.listdir(directory) if not _ours(e, target_name))
        if others:
            listed = ", ".join(others[:5]) + (", ..." if len(others) > 5 else "")
            raise _refuse(directory, f"it holds files the sharer did not write ({listed})")
        if st.st_mode & 0o002:
            raise _refuse(directory, "it is writable by every user (like /tmp)")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        st = os.lstat(directory)
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
    for name in os.listdir(directory):
        if name == target_name or not _ours(name, target_name):
            continue
        with contextlib.suppress(OSError):
            info = os.lstat(directory / name)
            if stat.S_ISREG(info.st_mode) and info.st_uid == os.geteuid():
                os.unlink(directory / name)


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
