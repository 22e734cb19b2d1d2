"""Atomic, durable file replacement: the one way ``adp`` writes a file that others read.

Invariant: at every instant, including after a crash of the process or of the machine, the
target holds either its old content or the whole new content, never a part; and no temporary
file is left behind by a write that returned or raised.

The rule, for every write:

1. write the new content to a temporary file created in the target's own folder (``O_EXCL``
   and ``O_NOFOLLOW``: a new file, never an existing one or a link someone planted), so that
   the rename below stays inside one file system;
2. set its mode explicitly (``fchmod``, not reduced by the umask) unless the caller asks for
   a file created as any file is (``mode=None``: 0666 less the umask);
3. ``fsync`` the file: its bytes are on disk before its name is;
4. ``os.replace`` it over the target: one rename, so a reader sees the old file or the new
   one. A symbolic link at the target is replaced by the file, never followed;
5. ``fsync`` the folder: the rename itself is on disk when the call returns.

Why fsync at all (four of the seven writers this replaced did not): without step 3 a machine
crash after the rename can leave the *new name* pointing at an empty or partial file (ext4
``data=writeback``, XFS), which is exactly what atomic replacement exists to prevent; without
step 5 the write can silently revert after a crash, and callers (the repository state, the
release store, the sync folder) go on to act as if it had happened. The cost is two fsyncs
per write; ``adp`` writes small files rarely, never in a hot loop (the sync agent's bulk
objects batch their fsyncs in ``adp.sync.objects`` instead).

The ``*_at`` functions do the same relative to an open folder (``dir_fd``), for a caller that
reaches its folders with ``openat`` and ``O_NOFOLLOW`` (``adp.releases.local_store``).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC


def temp_name(name: str, prefix: str | None = None) -> str:
    """A fresh temporary name for ``name``'s folder: ``prefix`` (default ``.<name>.``) and
    random hex, so that concurrent writers never share one."""
    return f"{f'.{name}.' if prefix is None else prefix}{secrets.token_hex(8)}.tmp"


def fsync_folder(folder: Path | str) -> None:
    """Wait until the entries of ``folder`` (a rename, a new name) are on disk."""
    fd = os.open(folder, _DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _create(name: str | Path, mode: int | None, dir_fd: int | None) -> int:
    fd = os.open(name, _CREATE, 0o666 if mode is None else 0o600, dir_fd=dir_fd)
    if mode is not None:
        try:
            os.fchmod(fd, mode)
        except BaseException:
            os.close(fd)
            raise
    return fd


@contextlib.contextmanager
def open_atomic(
    path: Path | str, *, mode: int | None = 0o644, temp_prefix: str | None = None
) -> Iterator[BinaryIO]:
    """A binary stream whose content replaces ``path`` when the block ends without an error
    (by the rule of this module); an error discards it and leaves ``path`` as it was."""
    path = Path(path)
    temp = path.with_name(temp_name(path.name, temp_prefix))
    try:
        with os.fdopen(_create(temp, mode, None), "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
        fsync_folder(path.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)


def write_bytes(
    path: Path | str, data: bytes, *, mode: int | None = 0o644, temp_prefix: str | None = None
) -> None:
    """Replace ``path`` with ``data``: the old content or ``data``, never a part (see the
    module). ``mode``: the file's permission bits (``None``: 0666 less the umask);
    ``temp_prefix``: how the temporary file's name starts (default ``.<name>.``)."""
    with open_atomic(path, mode=mode, temp_prefix=temp_prefix) as out:
        out.write(data)


def write_text(
    path: Path | str,
    text: str,
    *,
    mode: int | None = 0o644,
    encoding: str = "utf-8",
    temp_prefix: str | None = None,
) -> None:
    """:func:`write_bytes` of ``text`` encoded (UTF-8 unless told; no newline translation)."""
    write_bytes(path, text.encode(encoding), mode=mode, temp_prefix=temp_prefix)


@contextlib.contextmanager
def temporary(path: Path | str, *, temp_prefix: str | None = None) -> Iterator[Path]:
    """A fresh temporary path (not created) next to ``path``, for a writer that creates the
    file itself (libkrb5 writing a credential cache); removed when the block ends unless it
    was committed with :func:`commit`."""
    path = Path(path)
    temp = path.with_name(temp_name(path.name, temp_prefix))
    try:
        yield temp
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)


def commit(temp: Path | str, path: Path | str) -> None:
    """Steps 3-5 of the rule for a temporary file written by someone else: fsync it, rename
    it over ``path``, fsync the folder."""
    fd = os.open(temp, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temp, path)
    fsync_folder(Path(path).parent)


def write_temp_at(dir_fd: int, data: bytes, prefix: str, *, mode: int | None = None) -> str:
    """Steps 1-3 inside the open folder ``dir_fd``: a new temporary file (``prefix`` and
    random hex) holding ``data``, on disk; its name. The caller renames or links it, then
    calls :func:`fsync_folder_at`, and removes the name on any error."""
    name = f"{prefix}{secrets.token_hex(16)}"
    with os.fdopen(_create(name, mode, dir_fd), "wb") as out:
        try:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name, dir_fd=dir_fd)
            raise
    return name


def fsync_folder_at(dir_fd: int) -> None:
    """Step 5 for an open folder: its entries are on disk."""
    os.fsync(dir_fd)


def replace_at(
    dir_fd: int, data: bytes, name: str, prefix: str, *, mode: int | None = None
) -> None:
    """:func:`write_bytes` inside the open folder ``dir_fd``: ``name`` (never followed if it
    is a link: the rename replaces it) holds its old content or ``data``."""
    temp = write_temp_at(dir_fd, data, prefix, mode=mode)
    try:
        os.replace(temp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        fsync_folder_at(dir_fd)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp, dir_fd=dir_fd)
