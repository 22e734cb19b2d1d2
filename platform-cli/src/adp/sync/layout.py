"""The sync folder: where everything lives, atomic writes and the ``current`` swap.

    layout.json                          what this folder is (read by adp.bundles.policy)
    objects/<sha256>                     content-addressed files (read-only)
    releases/<package>/<manifest sha256>/  a release: hard links to objects, never modified
    snapshots/<id>/<package>             symlinks to release folders
    snapshots/<id>.json                  the snapshot document
    current                              symlink to snapshots/<id>, swapped atomically
    health.json                          written atomically

Every local name is built here from a checked name or a sha256, never from text read from the
store: a release folder is named after the sha256 of the manifest it was built from (no marker
file beside it, so no version name can collide with another's folder or marker), packages are
``[a-z][a-z0-9_]*`` and snapshot ids 64 hex digits. Temporary names start with ``.tmp-``
(nothing else can: hex digits and package names start otherwise) and live in the folder of
what they become, so a rename never crosses a file system; ``clean_temporaries`` removes
leftovers of an interrupted run.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from adp import fsatomic
from adp.releases import names
from adp.sync.errors import SyncError

TEMP = ".tmp-"
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
LAYOUT_FILE = "layout.json"
LAYOUT = {"format": "adp-sync", "version": 2}


def check_sha256(value: str, what: str = "sha256") -> str:
    """``value`` if it is a sha256 (64 lowercase hex digits): the only local names made from
    hashes read from the store."""
    if not isinstance(value, str) or not SHA256_RE.fullmatch(value):
        raise SyncError(f"{what} {str(value)[:80]!r}: not a sha256 (64 lowercase hex digits)")
    return value


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

    @property
    def layout(self) -> Path:
        return self.root / LAYOUT_FILE

    def release(self, package: str, manifest_sha256: str) -> Path:
        """The folder of ``package``'s release built from the manifest ``manifest_sha256``."""
        return self.releases / names.check_package(package) / check_sha256(manifest_sha256)

    def release_link(self, package: str, manifest_sha256: str) -> str:
        """What ``snapshots/<id>/<package>`` points at (relative: the folder can move)."""
        return f"../../releases/{names.check_package(package)}/{check_sha256(manifest_sha256)}"

    def snapshot(self, snapshot_id: str) -> Path:
        return self.snapshots / check_sha256(snapshot_id, "snapshot id")

    def snapshot_doc(self, snapshot_id: str) -> Path:
        return self.snapshots / f"{check_sha256(snapshot_id, 'snapshot id')}.json"

    def create(self) -> None:
        for folder in (self.objects, self.releases, self.snapshots):
            folder.mkdir(parents=True, exist_ok=True)
        if not self.layout.is_file():
            write_atomic(self.layout, (json.dumps(LAYOUT) + "\n").encode())

    def current_id(self) -> str | None:
        """The snapshot ``current`` names, or None when there is none yet."""
        try:
            target = os.readlink(self.current)
        except (FileNotFoundError, OSError):
            return None
        name = Path(target).name
        return name if SHA256_RE.fullmatch(name) else None


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
    """``path`` holds the old bytes or ``data``, never a part (``adp.fsatomic``'s rule; the
    temporary file is a ``.tmp-`` name that ``clean_temporaries`` knows)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fsatomic.write_bytes(path, data, mode=None, temp_prefix=TEMP)


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
