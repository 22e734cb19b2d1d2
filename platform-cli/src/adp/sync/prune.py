"""Removing old snapshots, and the releases and objects only they used.

The ``keep`` most recently made current snapshots stay (the current one always), with every
release folder their links point at and every object those releases and their manifests use;
the rest is removed. What stays is read from the kept snapshots themselves (their documents
and the targets of their links), never from the names of the folders being pruned, so no name
can make the pruner remove a release a kept snapshot serves. Runs only after a successful swap.
"""

from __future__ import annotations

import os
from pathlib import Path

from adp.releases.manifest import ManifestError, parse_manifest
from adp.sync.errors import SyncError
from adp.sync.layout import SHA256_RE, TEMP, SyncDir, remove_tree
from adp.sync.objects import Objects
from adp.sync.snapshot import Snapshot, parse_snapshot


def _kept_snapshots(sync_dir: SyncDir, keep: int) -> list[Snapshot]:
    current = sync_dir.current_id()
    docs = sorted(
        (p for p in sync_dir.snapshots.glob("*.json") if SHA256_RE.fullmatch(p.stem)),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    chosen = [p for p in docs if p.stem == current] + [p for p in docs if p.stem != current]
    kept: list[Snapshot] = []
    for doc in chosen[: max(keep, 1)]:
        try:
            kept.append(parse_snapshot(doc.read_bytes(), doc.stem))
        except (OSError, SyncError):
            continue
    for doc in chosen[max(keep, 1) :]:
        remove_tree(sync_dir.snapshot(doc.stem))
        doc.unlink(missing_ok=True)
    return kept


def _linked_releases(sync_dir: SyncDir, snapshot: Snapshot) -> set[Path]:
    """The release folders a kept snapshot serves: those its document names and those its
    folder's links point at (a folder made by an earlier layout keeps its own links)."""
    served = {sync_dir.release(p, r.manifest_sha256) for p, r in snapshot.packages.items()}
    folder = sync_dir.snapshot(snapshot.id)
    if folder.is_dir():
        for link in folder.iterdir():
            if link.is_symlink():
                served.add(Path(os.path.normpath(folder / os.readlink(link))))
    return served


def prune(sync_dir: SyncDir, keep: int) -> None:
    kept = _kept_snapshots(sync_dir, keep)
    served = {path for snapshot in kept for path in _linked_releases(sync_dir, snapshot)}
    for folder in sync_dir.releases.iterdir() if sync_dir.releases.is_dir() else []:
        if folder.name.startswith(TEMP) or not folder.is_dir() or folder.is_symlink():
            continue
        for entry in folder.iterdir():
            if not entry.name.startswith(TEMP) and entry not in served:
                remove_tree(entry)
    objects = Objects(sync_dir.objects)
    used: set[str] = set()
    for release in {r for s in kept for r in s.packages.values()}:
        used.add(release.manifest_sha256)
        try:
            manifest = parse_manifest(objects.read(release.manifest_sha256), release.version)
        except (OSError, ManifestError):
            return  # cannot tell what is used: remove no object
        used.update(item.sha256 for item in manifest.files)
    for entry in sync_dir.objects.iterdir():
        if not entry.name.startswith(TEMP) and entry.name not in used:
            entry.unlink(missing_ok=True)
