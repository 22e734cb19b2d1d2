"""Removing old snapshots, and the releases and objects only they used.

The ``keep`` most recently made current snapshots stay (the current one always), with every
release they reference and every object those releases and their manifests use; the rest is
removed. Runs only after a successful swap.
"""

from __future__ import annotations

from adp.releases.manifest import ManifestError, parse_manifest
from adp.sync.errors import SyncError
from adp.sync.layout import TEMP, SyncDir, remove_tree
from adp.sync.objects import Objects
from adp.sync.snapshot import Snapshot, parse_snapshot


def _kept_snapshots(sync_dir: SyncDir, keep: int) -> list[Snapshot]:
    current = sync_dir.current_id()
    docs = sorted(
        (p for p in sync_dir.snapshots.glob("*.json") if not p.name.startswith(TEMP)),
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


def prune(sync_dir: SyncDir, keep: int) -> None:
    kept = _kept_snapshots(sync_dir, keep)
    releases = {(p, r.version): r for s in kept for p, r in s.packages.items()}
    objects = Objects(sync_dir.objects)
    used: set[str] = set()
    for (_package, version), release in releases.items():
        used.add(release.manifest_sha256)
        try:
            manifest = parse_manifest(objects.read(release.manifest_sha256), version)
        except (OSError, ManifestError):
            return  # cannot tell what is used: remove nothing more
        used.update(item.sha256 for item in manifest.files)
    for folder in sync_dir.releases.iterdir() if sync_dir.releases.is_dir() else []:
        for entry in folder.iterdir():
            version = entry.name.removesuffix(".manifest")
            if not entry.name.startswith(TEMP) and (folder.name, version) not in releases:
                remove_tree(entry)
    for entry in sync_dir.objects.iterdir():
        if not entry.name.startswith(TEMP) and entry.name not in used:
            entry.unlink(missing_ok=True)
