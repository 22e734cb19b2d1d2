"""The sync folder: where everything lives, atomic writes and the ``current`` swap.

    objects/<sha256>                     content-addressed files (read-only)
    releases/<package>/<version>/        a release: hard links to objects, never modified
    releases/<package>/<version>.manifest  the manifest sha256 that release was built from
    snapshots/<id>/<package>             symlinks to release folders
    snapshots/<id>.json                  the snapshot document
    current                              symlink to snapshots/<id>, swapped atomically
    health.json                          written atomically

Temporary names start with ``.tmp-`` and live in the folder of what they become, so a rename
never crosses a file system; ``clean_temporaries`` removes leftovers of an interrupted run.
"""

from __future__ import annotations

import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

TEMP = ".tmp-"


@dataclass(frozen=True)
class SyncDir:
    root: Path

    @property
    def objects(self) -> Path:
        return self.root / "objects"

    @property
    def releases(self) -> Path:
        return self.root / "releases"

    @property
    def snapshots(self) -> Path:
        return self.root / "snapshots"

    @property
    def current(self) -> Path:
        return self.root / "current"

    @property
    def health(self) -> Path:
        return self.root / "health.json"

    def release(self, package: str, version: str) -> Path:
        return self.releases / package / version

    def release_marker(self, package: str, version: str) -> Path:
        return self.releases / package / f"{version}.manifest"

    def snapshot(self, snapshot_id: str) -> Path:
        return self.snapshots / snapshot_id

    def snapshot_doc(self, snapshot_id: str) -> Path:
        return self.snapshots / f"{snapshot_id}.json"

    def create(self) -> None:
        for folder in (self.objects, self.releases, self.snapshots):
            folder.mkdir(parents=True, exist_ok=True)

    def current_id(self) -> str | None:
        """The snapshot ``current`` names, or None when there is none yet."""
        try:
            target = os.readlink(self.current)
        except (FileNotFoundError, OSError):
            return None
        return Path(target).name


def temp_name(folder: Path, hint: str = "") -> Path:
    return folder / f"{TEMP}{hint}{secrets.token_hex(6)}"


def fsync_path(path: Path) -> None:
    """Wait until the file or folder ``path`` is on disk (a folder: its entries)."""
    handle = os.open(path, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def write_atomic(path: Path, data: bytes) -> None:
    """``path`` holds the old bytes or ``data``, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = temp_name(path.parent)
    try:
        with open(temp, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def swap_symlink(link: Path, target: str) -> None:
    """Point ``link`` at ``target`` with one rename: readers see the old target or the new."""
    temp = temp_name(link.parent, "link-")
    try:
        os.symlink(target, temp)
        os.replace(temp, link)
        fsync_path(link.parent)
    finally:
        if temp.is_symlink():
            temp.unlink()


def remove_tree(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    elif path.is_dir():
        shutil.rmtree(path, ignore_errors=True)


def clean_temporaries(sync_dir: SyncDir) -> None:
    """Remove what an interrupted run left: every ``.tmp-*`` under the sync folder's parts."""
    folders = [sync_dir.root, sync_dir.objects, sync_dir.snapshots]
    if sync_dir.releases.is_dir():
        folders += [p for p in sync_dir.releases.iterdir() if p.is_dir()]
    for folder in folders:
        if folder.is_dir():
            for entry in folder.iterdir():
                if entry.name.startswith(TEMP):
                    remove_tree(entry)
