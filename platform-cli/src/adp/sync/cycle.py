"""One sync of an environment: pointers, changed releases, a new snapshot, the swap.

A cycle lists the packages (one delimited listing of ``<env>/``), asks each pointer only
whether it changed since the last good read (a conditional GET with its ETag), builds only
changed releases, and swaps ``current`` only when the snapshot differs. A package that fails
(a damaged pointer, a missing or corrupt object, a store error) keeps its release of the
current snapshot (none on the first sync) and its error is reported: the other packages go on.
A failure that is not one package's (listing the store, the local disk) fails the whole cycle,
and so does a cycle where every package failed: ``current`` stays as it was.

What one package's writer chooses stays that package's failure: a pointer is read only up to
``DOCUMENT_MAX_BYTES`` (a larger one is refused unread), and a release that does not fit on the
sync folder's disk, or fills it during its download, is ``DoesNotFit`` (see materialize). Only a
disk full for everyone (at or below its reserve once that release's objects are removed, or a
small write of the cycle failing) fails the cycle as "disk full".
"""

from __future__ import annotations

import contextlib
import errno
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from adp.releases import names
from adp.releases.manifest import parse_pointer
from adp.releases.store import DOCUMENT_MAX_BYTES, Blob, Store, TooLarge, Unchanged
from adp.sync.errors import SyncError
from adp.sync.layout import SyncDir, clean_temporaries, swap_symlink
from adp.sync.materialize import (
    build_snapshot,
    document_too_large,
    materialize_release,
    snapshot_problems,
)
from adp.sync.prune import prune
from adp.sync.snapshot import PackageRelease, Snapshot, parse_snapshot, record_snapshot

Status = Literal["ok", "degraded", "failed"]


@dataclass
class CycleResult:
    status: Status
    snapshot_id: str | None
    swapped: bool = False
    downloaded: int = 0
    error: str | None = None
    package_errors: dict[str, str] = field(default_factory=dict)
    packages: dict[str, PackageRelease] = field(default_factory=dict)
    finished_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def good(self) -> bool:
        """The store was read and ``current`` names the newest snapshot it could build."""
        return self.status != "failed"


def describe(error: BaseException) -> str:
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        return f"disk full: {error.filename or 'the sync folder'}: no space left on device"
    if isinstance(error, OSError):
        return f"local file system: {error}"
    return str(error) or type(error).__name__


class Syncer:
    """Syncs ``env`` from ``store`` into ``sync_dir``; remembers the pointers' ETags between
    cycles so an unchanged pointer costs one 304."""

    def __init__(
        self, store: Store, env: str, sync_dir: Path, record: bool = True, keep: int = 5
    ) -> None:
        self.store = store
        self.env = names.check_env(env)
        self.dir = SyncDir(Path(sync_dir))
        self.record = record
        self.keep = keep
        self.etags: dict[str, str] = {}
        self.dir.create()
        clean_temporaries(self.dir)
        self.current = self._load_current()

    def _load_current(self) -> Snapshot | None:
        snapshot_id = self.dir.current_id()
        if snapshot_id is None:
            return None
        try:
            return parse_snapshot(self.dir.snapshot_doc(snapshot_id).read_bytes(), snapshot_id)
        except (OSError, SyncError):
            return None  # rebuilt by the next good cycle; current stays meanwhile

    def _sync_package(
        self, package: str, etags: dict[str, str]
    ) -> tuple[PackageRelease | None, int]:
        key = names.pointer_key(self.env, package)
        known = self.current.packages.get(package) if self.current else None
        etag = self.etags.get(package) if known else None
        try:
            blob = self.store.get_changed(key, etag, max_bytes=DOCUMENT_MAX_BYTES)
        except TooLarge as error:
            fix = f"publish {package} again or roll it back to replace it"
            raise document_too_large(error, "pointer", fix) from None
        if isinstance(blob, Unchanged):
            etags[package] = self.etags[package]
            return known, 0
        if blob is None:
            return None, 0  # no pointer (yet, or any more): not in the snapshot
        assert isinstance(blob, Blob)
        pointer = parse_pointer(blob.data, key)
        if (pointer.env, pointer.package) != (self.env, package):
            raise SyncError(f"{key}: names {pointer.env}/{pointer.package}")
        release = PackageRelease(pointer.version, pointer.manifest_sha256)
        _, downloaded = materialize_release(self.store, self.dir, self.env, package, release)
        etags[package] = blob.etag
        return release, downloaded

    def _served_problems(self, snapshot: Snapshot) -> list[str]:
        """What keeps ``current`` from serving ``snapshot`` whole (empty: it does)."""
        if self.dir.current_id() != snapshot.id:
            return [f"{self.dir.current} does not name snapshots/{snapshot.id}"]
        return snapshot_problems(self.dir, snapshot)

    def _repair(self, snapshot: Snapshot) -> None:
        """Rebuild what went missing under ``current`` (a release folder removed by hand or by
        an older version's pruner), verified from the objects or the store as a new one."""
        for package, release in sorted(snapshot.packages.items()):
            if not self.dir.release(package, release.manifest_sha256).is_dir():
                materialize_release(self.store, self.dir, self.env, package, release)
        build_snapshot(self.dir, snapshot)
        if self.dir.current_id() != snapshot.id:
            swap_symlink(self.dir.current, f"snapshots/{snapshot.id}")

    def cycle(self) -> CycleResult:
        """One sync; never raises for a store or disk failure (the result says what failed)."""
        current_id = self.current.id if self.current else None
        try:
            return self._cycle()
        except Exception as error:  # any failure: current stays, the result says why
            return CycleResult("failed", current_id, error=describe(error))

    def _cycle(self) -> CycleResult:
        found = self.store.folders(f"{self.env}/")
        packages = [p for p in found if names.PACKAGE_RE.fullmatch(p)]
        chosen: dict[str, PackageRelease] = {}
        errors: dict[str, str] = {}
        etags: dict[str, str] = {}
        downloaded = 0
        for package in packages:
            try:
                release, count = self._sync_package(package, etags)
            except Exception as error:  # this package's failure; a disk full for all: everyone's
                if isinstance(error, OSError) and error.errno == errno.ENOSPC:
                    raise
                errors[package] = describe(error)
                kept = self.current.packages.get(package) if self.current else None
                if kept is not None:
                    chosen[package] = kept
                continue
            downloaded += count
            if release is not None:
                chosen[package] = release
        if packages and len(errors) == len(packages):
            first = next(iter(errors.items()))
            return CycleResult(
                "failed",
                self.current.id if self.current else None,
                downloaded=downloaded,
                error=f"every package failed; {first[0]}: {first[1]}",
                package_errors=errors,
            )
        snapshot = Snapshot(self.env, chosen)
        swapped = False
        if self.current is None or snapshot.id != self.current.id:
            if self.record:
                record_snapshot(self.store, snapshot)
            build_snapshot(self.dir, snapshot)
            os.utime(self.dir.snapshot_doc(snapshot.id))
            swap_symlink(self.dir.current, f"snapshots/{snapshot.id}")
            self.current = snapshot
            swapped = True
            # a failed prune leaves old files until the next swap; current is already right
            with contextlib.suppress(OSError):
                prune(self.dir, self.keep)
        repair_error = ""
        if not swapped and self._served_problems(snapshot):
            try:
                self._repair(snapshot)
            except Exception as error:  # reported below with what is missing
                if isinstance(error, OSError) and error.errno == errno.ENOSPC:
                    raise
                repair_error = f"; it cannot be rebuilt: {describe(error)}"
        problems = self._served_problems(snapshot)
        if problems:  # never "ok" while current serves less than its snapshot
            return CycleResult(
                "failed",
                snapshot.id,
                swapped=swapped,
                downloaded=downloaded,
                error=f"current does not serve snapshot {snapshot.id[:12]} whole: "
                + "; ".join(problems[:3])
                + repair_error,
                package_errors=errors,
            )
        self.etags = etags
        status: Status = "degraded" if errors else "ok"
        first_error = next(iter(errors.items()), None)
        return CycleResult(
            status,
            snapshot.id,
            swapped=swapped,
            downloaded=downloaded,
            error=f"{first_error[0]}: {first_error[1]}" if first_error else None,
            package_errors=errors,
            packages=dict(chosen),
        )
