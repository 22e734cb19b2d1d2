"""Releases and snapshots on disk, from the store, verified.

``materialize_release`` builds ``releases/<package>/<manifest sha256>/`` from hard links to
objects (downloading only the objects not already here, each checked against the manifest, whose
bytes are checked against the pointer's ``manifest_sha256``: with one request for the
release's pack when most of it is missing, else concurrently one per object; all of them are
made durable in one pass before the folder is built); ``build_snapshot`` makes the
folder of symlinks; ``materialize_snapshot`` does both for a snapshot id read from the store
(what a worker calls for a pinned version). Every folder is built under a temporary name and
renamed into place, and never changed after.

Sizes are the store writer's choice, so they are bounded before anything is read or written: a
manifest is read only up to ``DOCUMENT_MAX_BYTES``, a release file only up to its manifest size
(plus one byte: a larger object is Corrupt, never read whole), a pack only up to the sum of the
sizes. Before downloading, the release must fit on the sync folder's disk, and a download that
hits ENOSPC is that release's failure unless the disk is full for everyone: see ``disk_space``.
"""

from __future__ import annotations

import errno
import os
import threading
from collections.abc import Iterable
from concurrent.futures import FIRST_EXCEPTION, Executor, ThreadPoolExecutor, wait
from pathlib import Path

from adp.releases import names
from adp.releases.manifest import Manifest, ManifestError, ManifestFile, parse_manifest
from adp.releases.store import DOCUMENT_MAX_BYTES, Store, StoreError, TooLarge
from adp.sync.disk_space import DoesNotFit, check_room, out_of_room
from adp.sync.errors import Corrupt, SyncError
from adp.sync.layout import (
    SyncDir,
    fsync_path,
    remove_tree,
    swap_symlink,
    temp_name,
    write_atomic,
)
from adp.sync.objects import Objects
from adp.sync.snapshot import PackageRelease, Snapshot, check_id, read_snapshot

DOWNLOAD_THREADS = 16  # concurrent GETs of one release (the S3 client pools 32 connections)
PACK_MAX_BYTES = 256 << 20  # a larger release is downloaded one object at a time


def document_too_large(error: TooLarge, what: str, fix: str) -> SyncError:
    """A pointer, manifest or snapshot document over DOCUMENT_MAX_BYTES, as a message."""
    return SyncError(f"{error}: a {what} is at most {DOCUMENT_MAX_BYTES >> 20} MiB; {fix}")


def load_manifest(
    store: Store, sync_dir: SyncDir, env: str, package: str, release: PackageRelease
) -> Manifest:
    """The release's manifest, from the objects or the store, its bytes checked against the
    pointer's ``manifest_sha256``."""
    objects = Objects(sync_dir.objects)
    key = names.manifest_key(env, package, release.version)
    if objects.has_verified(release.manifest_sha256):
        data = objects.read(release.manifest_sha256)
    else:
        try:
            blob = store.get(key, max_bytes=DOCUMENT_MAX_BYTES)
        except TooLarge as error:
            fix = f"publish a new release of {package} or roll it back to repair its pointer"
            raise document_too_large(error, "manifest", fix) from None
        if blob is None:
            raise SyncError(f"{key}: missing in {store.url}; the pointer names no release")
        objects.add(blob.data, release.manifest_sha256, None, key)
        data = blob.data
    try:
        manifest = parse_manifest(data, key)
    except ManifestError as error:
        raise SyncError(str(error)) from None
    if (manifest.env, manifest.package, manifest.version) != (env, package, release.version):
        raise SyncError(
            f"the pointer of {env}/{package} names manifest {release.manifest_sha256[:16]}..., "
            f"a release of {manifest.env}/{manifest.package} version {manifest.version}, not "
            f"{env}/{package} version {release.version}: a pointer names only its own package's "
            "release; publish or roll back the package to repair its pointer"
        )
    return manifest


def _download(
    store: Store, objects: Objects, env: str, package: str, version: str, item: ManifestFile
) -> None:
    key = names.file_key(env, package, version, item.path)
    try:
        blob = store.get(key, max_bytes=item.size)
    except TooLarge:
        raise Corrupt(
            f"{key}: more than {item.size} bytes, published with {item.size} (changed after "
            "publication); it was not read further"
        ) from None
    if blob is None:
        raise SyncError(f"{key}: listed in the manifest but missing in {store.url}")
    objects.add(blob.data, item.sha256, item.size, key)


def _from_pack(
    store: Store, objects: Objects, manifest: Manifest, wanted: list[ManifestFile]
) -> list[ManifestFile]:
    """Add the objects of ``wanted`` from the release's pack (one request instead of one per
    file), each checked as a download is; returns those still missing: all of them when there
    is no pack (a release published before packs) or it cannot be read or has the wrong size,
    and any whose bytes in it are damaged (those are downloaded one by one)."""
    starts: dict[str, int] = {}
    offset = 0
    for item in manifest.files:
        starts.setdefault(item.sha256, offset)
        offset += item.size
    key = names.pack_key(manifest.env, manifest.package, manifest.version)
    try:
        blob = store.get(key, max_bytes=offset)  # TooLarge is a StoreError: a wrong size
    except StoreError:
        return wanted
    if blob is None or len(blob.data) != offset:
        return wanted
    left: list[ManifestFile] = []
    for item in wanted:
        data = blob.data[starts[item.sha256] : starts[item.sha256] + item.size]
        try:
            objects.add(data, item.sha256, item.size, f"{key}: {item.path}")
        except Corrupt:
            left.append(item)
    return left


# Private control flow, not an AdpError: the mark of a download skipped inside _download_all,
# never raised to a caller (the first real error of the release is).
class _Stopped(Exception):
    """A download not made because another one of its release had failed."""


def _download_all(
    pool: Executor,
    store: Store,
    objects: Objects,
    env: str,
    package: str,
    version: str,
    wanted: list[ManifestFile],
) -> None:
    """Download ``wanted`` on ``pool``; the first failure (in manifest order) is raised. After
    a failure no download starts: the failing worker sets ``stop`` itself, so the others see
    it before their next request, however busy the thread waiting here is."""
    stop = threading.Event()

    def download(item: ManifestFile) -> None:
        if stop.is_set():
            raise _Stopped
        try:
            _download(store, objects, env, package, version, item)
        except BaseException:
            stop.set()
            raise

    futures = [pool.submit(download, item) for item in wanted]
    wait(futures, return_when=FIRST_EXCEPTION)
    for future in futures:
        future.cancel()
    for future in futures:  # the first real failure, in manifest order
        error = None if future.cancelled() else future.exception()
        if error is not None and not isinstance(error, _Stopped):
            raise error


def missing_objects(objects: Objects, files: Iterable[ManifestFile]) -> list[ManifestFile]:
    """One file per object that is not here (or not whole)."""
    seen: dict[str, ManifestFile] = {}
    for item in files:
        if item.sha256 not in seen and not objects.has_verified(item.sha256, item.size):
            seen[item.sha256] = item
    return list(seen.values())


def materialize_release(
    store: Store, sync_dir: SyncDir, env: str, package: str, release: PackageRelease
) -> tuple[Path, int]:
    """The release folder (built if needed) and how many objects were downloaded.

    The manifest is read (from the objects when it is here) and must name exactly ``env``,
    ``package`` and ``release.version``, even when the folder is already built: a pointer can
    only ever name a release its own package published under that version. A release that does
    not fit on the disk is DoesNotFit (nothing of it downloaded), and so is one whose download
    hit ENOSPC while the disk is not full for everyone (what it wrote removed): see
    ``out_of_room``."""
    objects = Objects(sync_dir.objects)
    wanted: list[ManifestFile] = []
    try:
        manifest = load_manifest(store, sync_dir, env, package, release)
        final = sync_dir.release(package, release.manifest_sha256)
        if final.is_dir():
            return final, 0
        wanted = missing_objects(objects, manifest.files)
        check_room(sync_dir, manifest, release, wanted)
        _build(store, sync_dir, objects, manifest, release, wanted)
    except (DoesNotFit, OSError) as error:
        if isinstance(error, OSError) and error.errno != errno.ENOSPC:
            raise
        written = {item.sha256 for item in wanted}
        what = f"release {release.version} of {env}/{package}"
        raise out_of_room(sync_dir, objects, written, what, error) from None
    return final, len(wanted)


def _build(
    store: Store,
    sync_dir: SyncDir,
    objects: Objects,
    manifest: Manifest,
    release: PackageRelease,
    wanted: list[ManifestFile],
) -> None:
    """Download ``wanted`` (from the pack when most of the release is missing), make every
    object durable, and build the release folder under a temporary name, renamed into place."""
    env, package = manifest.env, manifest.package
    final = sync_dir.release(package, release.manifest_sha256)
    size = sum(item.size for item in manifest.files)
    if 2 * len(wanted) > len(manifest.files) and size <= PACK_MAX_BYTES:  # most of it
        wanted = _from_pack(store, objects, manifest, wanted)
    with ThreadPoolExecutor(DOWNLOAD_THREADS) as pool:
        _download_all(pool, store, objects, env, package, release.version, wanted)
        # every object the folder links to: also those a failed cycle wrote and did not sync
        used = {release.manifest_sha256, *(item.sha256 for item in manifest.files)}
        objects.make_durable(used, pool)
    final.parent.mkdir(parents=True, exist_ok=True)
    temp = temp_name(final.parent)
    try:
        temp.mkdir()
        folders = {temp}
        for item in manifest.files:
            target = temp.joinpath(*names.check_path(item.path).split("/"))
            if target.parent not in folders:
                target.parent.mkdir(parents=True, exist_ok=True)
                folders.add(target.parent)
            os.link(objects.path(item.sha256), target)  # verified and durable just above
        os.rename(temp, final)
        fsync_path(final.parent)
    finally:
        remove_tree(temp)


def build_snapshot(sync_dir: SyncDir, snapshot: Snapshot) -> Path:
    """``snapshots/<id>/``: one symlink per package to its (already built) release folder,
    and ``snapshots/<id>.json``. A snapshot folder that lost a link is given it back (links
    are fixed by the snapshot's content, so a repair writes what was there)."""
    final = sync_dir.snapshot(snapshot.id)
    doc = sync_dir.snapshot_doc(snapshot.id)
    if not doc.is_file():
        write_atomic(doc, snapshot.to_bytes())
    for package, release in sorted(snapshot.packages.items()):
        if not sync_dir.release(package, release.manifest_sha256).is_dir():
            raise SyncError(f"snapshot {snapshot.id[:16]}...: {package} is not built")
    if final.is_dir():
        for package, release in sorted(snapshot.packages.items()):
            link = final / package
            target = sync_dir.release_link(package, release.manifest_sha256)
            if not link.is_symlink() or os.readlink(link) != target:
                if link.is_dir() and not link.is_symlink():
                    remove_tree(link)
                swap_symlink(link, target)  # a reader sees the old link or the new one
        return final
    temp = temp_name(sync_dir.snapshots)
    try:
        temp.mkdir()
        for package, release in sorted(snapshot.packages.items()):
            os.symlink(sync_dir.release_link(package, release.manifest_sha256), temp / package)
        os.rename(temp, final)
        fsync_path(sync_dir.snapshots)
    finally:
        remove_tree(temp)
    return final


def snapshot_problems(sync_dir: SyncDir, snapshot: Snapshot) -> list[str]:
    """What keeps ``snapshots/<id>/`` from serving ``snapshot`` whole: a package whose link is
    missing, points elsewhere or at nothing. Empty when every package is served."""
    folder = sync_dir.snapshot(snapshot.id)
    if not folder.is_dir():
        return [f"snapshot folder {folder} is missing"]
    problems = []
    for package, release in sorted(snapshot.packages.items()):
        link = folder / package
        target = sync_dir.release_link(package, release.manifest_sha256)
        if not link.is_symlink() or os.readlink(link) != target:
            problems.append(f"{package}: {link} does not point at {target}")
        elif not link.is_dir():
            problems.append(f"{package}: {link} points at nothing (its release folder is gone)")
    extra = sorted(p.name for p in folder.iterdir() if p.name not in snapshot.packages)
    problems += [f"{name}: in {folder} but not in the snapshot" for name in extra]
    return problems


def materialize_snapshot(store: Store, env: str, snapshot_id: str, sync_dir: Path) -> Path:
    """Rebuild snapshot ``snapshot_id`` of ``env`` from the store under ``sync_dir`` (every
    byte verified); returns ``snapshots/<id>/``. ``current`` is not touched."""
    layout = SyncDir(Path(sync_dir))
    layout.create()
    snapshot = read_snapshot(store, env, check_id(snapshot_id))
    for package, release in sorted(snapshot.packages.items()):
        materialize_release(store, layout, env, package, release)
    return build_snapshot(layout, snapshot)
