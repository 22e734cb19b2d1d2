"""Room on the sync folder's disk: one package's release never takes it from the others.

Before a release is downloaded, what it still needs (its objects not here yet, each rounded up
to whole blocks, and one block per folder) is compared with the disk's free space (statvfs, what
``shutil.disk_usage`` reads) less a reserve: ``RESERVE_MAX_BYTES``, or a twentieth of a small
disk. A release that does not fit is refused, ``DoesNotFit``: its package's error, nothing of it
downloaded. When space is short, the leftovers of failed downloads and refused releases (objects
no release folder links to, other than a built or recorded release's manifest) are removed
first, so no package's leftovers keep another's release off the disk. A download that hits
ENOSPC anyway (another writer filled the disk) has the objects it wrote removed; it is then the
release's DoesNotFit too, unless the disk is still at or below its reserve, full for everyone:
then ENOSPC is raised and the whole cycle fails as "disk full".
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterable
from dataclasses import dataclass

from adp.releases.manifest import Manifest, ManifestFile
from adp.sync.errors import SyncError
from adp.sync.layout import SHA256_RE, TEMP, SyncDir
from adp.sync.objects import Objects
from adp.sync.snapshot import PackageRelease, parse_snapshot

# Kept free on the sync folder's disk for what a cycle writes besides objects (folders, links,
# snapshot documents, health.json) and for the disk's other users: 64 MiB, or a twentieth of a
# disk smaller than 1.25 GiB, so that a small disk can still take releases.
RESERVE_MAX_BYTES = 64 << 20
RESERVE_SHARE = 20


class DoesNotFit(SyncError):
    """A release needs more room than the sync folder's disk has left: its package's error."""


def human(size: int) -> str:
    """``size`` bytes for a message: '3.0 MiB'."""
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if size >= 1 << shift:
            return f"{size / (1 << shift):.1f} {unit}"
    return f"{size} bytes"


@dataclass(frozen=True)
class Room:
    """The sync folder's disk (statvfs, what shutil.disk_usage reads): bytes free to this user,
    the reserve kept free, the block size files are allocated in."""

    free: int
    reserve: int
    block: int

    @property
    def usable(self) -> int:
        return self.free - self.reserve


def room(sync_dir: SyncDir) -> Room:
    vfs = os.statvfs(sync_dir.objects)
    total = vfs.f_blocks * vfs.f_frsize
    reserve = min(RESERVE_MAX_BYTES, total // RESERVE_SHARE)
    return Room(vfs.f_bavail * vfs.f_frsize, reserve, vfs.f_frsize or 4096)


def bytes_needed(manifest: Manifest, wanted: list[ManifestFile], block: int) -> int:
    """What building the release adds to the disk: its missing objects, each rounded up to
    whole blocks, and one block per folder of the release."""
    folders = {""}
    for item in manifest.files:
        parts = item.path.split("/")[:-1]
        folders.update("/".join(parts[: n + 1]) for n in range(len(parts)))
    data = sum(-(-item.size // block) * block for item in wanted)
    return data + len(folders) * block


def remove_unlinked(objects: Objects, sha256s: Iterable[str]) -> None:
    """Remove those of these objects that no release folder links to."""
    for sha256 in sha256s:
        path = objects.path(sha256)
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_nlink == 1:
                path.unlink()


def remove_leftovers(sync_dir: SyncDir, keep: set[str]) -> None:
    """Remove what failed downloads and refused releases left in ``objects/``: every object no
    release folder links to, except ``keep`` and the manifests of the releases built here or
    named by a snapshot document here (what prune keeps, and more)."""
    kept = set(keep)
    if sync_dir.releases.is_dir():
        for package in sync_dir.releases.iterdir():
            if package.is_dir() and not package.is_symlink():
                kept.update(p.name for p in package.iterdir() if SHA256_RE.fullmatch(p.name))
    for doc in sync_dir.snapshots.glob("*.json"):
        try:
            snapshot = parse_snapshot(doc.read_bytes(), doc.stem)
        except (OSError, SyncError):
            continue
        kept.update(r.manifest_sha256 for r in snapshot.packages.values())
    names_here = [e.name for e in sync_dir.objects.iterdir() if not e.name.startswith(TEMP)]
    remove_unlinked(Objects(sync_dir.objects), (n for n in names_here if n not in kept))


def check_room(
    sync_dir: SyncDir, manifest: Manifest, release: PackageRelease, wanted: list[ManifestFile]
) -> None:
    """DoesNotFit unless the release's missing objects fit on the disk, above the reserve
    (leftovers of failed downloads are removed first when they would not)."""
    if not wanted:
        return
    space = room(sync_dir)
    needs = bytes_needed(manifest, wanted, space.block)
    if needs > space.usable:  # keep what this release has here already
        remove_leftovers(
            sync_dir, keep={release.manifest_sha256, *(item.sha256 for item in manifest.files)}
        )
        space = room(sync_dir)
    if needs > space.usable:
        raise DoesNotFit(
            f"release {manifest.version} of {manifest.env}/{manifest.package} does not fit in "
            f"{sync_dir.root}: it needs {human(needs)} more (for {len(wanted)} of its files "
            f"not here yet), {human(space.free)} are free and {human(space.reserve)} are kept "
            "in reserve; free space on that disk or give the sync folder a larger one (or publish "
            f"a smaller release of {manifest.package})"
        )


def out_of_room(
    sync_dir: SyncDir, objects: Objects, written: set[str], release: str, error: Exception
) -> Exception:
    """What to raise when a release did not fit (``DoesNotFit``) or hit ENOSPC: the objects it
    wrote are removed first; then, if the disk is still at or below its reserve (full for
    everyone), ENOSPC (the cycle fails), else the release's own DoesNotFit."""
    remove_unlinked(objects, written)
    space = room(sync_dir)
    if space.free <= space.reserve:
        remove_leftovers(sync_dir, keep=set())
        space = room(sync_dir)
    if space.free <= space.reserve:
        if isinstance(error, OSError):
            return error
        return OSError(
            errno.ENOSPC,
            f"{os.strerror(errno.ENOSPC)} ({human(space.free)} free, {human(space.reserve)} "
            "kept in reserve)",
            str(sync_dir.root),
        )
    if isinstance(error, DoesNotFit):
        return error
    return DoesNotFit(
        f"{release}: the disk of {sync_dir.root} filled while it was downloaded (no space "
        f"left on device); what it had written was removed and {human(space.free)} are free "
        "again; free space on that disk or give the sync folder a larger one"
    )
