"""Reading and moving ``<env>/<package>/current.json``.

A move is a conditional write from the state the mover read (its ETag, or "absent"): if
anyone moved the pointer in between, the move fails with PointerConflict and changes nothing.
Transient 409 answers are retried with backoff, then reported.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from adp.errors import Failure
from adp.releases import names
from adp.releases.manifest import (
    Manifest,
    ManifestError,
    Pointer,
    now,
    parse_manifest,
    parse_pointer,
)
from adp.releases.store import (
    DOCUMENT_MAX_BYTES,
    Busy,
    PreconditionFailed,
    Store,
    TooLarge,
    retrying,
)


class ReleaseError(Failure, RuntimeError):
    """A publication, rollback or listing cannot go on; the message says why and what to do."""


class PointerConflict(ReleaseError):
    """Someone else moved the pointer first (or kept the store busy): nothing was changed."""


@dataclass(frozen=True)
class PointerState:
    """What a mover read: the pointer (None when absent) and its ETag."""

    pointer: Pointer | None
    etag: str | None

    @property
    def version(self) -> str | None:
        return self.pointer.version if self.pointer else None


def read_pointer(store: Store, env: str, package: str) -> PointerState:
    key = names.pointer_key(env, package)
    try:
        blob = store.get(key, max_bytes=DOCUMENT_MAX_BYTES)
    except TooLarge as error:
        raise ReleaseError(
            f"{error}; the pointer is damaged: repair it with adp dags rollback"
        ) from None
    if blob is None:
        return PointerState(None, None)
    try:
        return PointerState(parse_pointer(blob.data, key), blob.etag)
    except ManifestError as error:
        raise ReleaseError(
            f"{error}; the pointer is damaged: repair it with adp dags rollback"
        ) from None


def read_manifest(store: Store, env: str, package: str, version: str) -> tuple[Manifest, bytes]:
    """A release's manifest (and its bytes); ReleaseError when it is absent or unreadable."""
    key = names.manifest_key(env, package, version)
    try:
        blob = store.get(key, max_bytes=DOCUMENT_MAX_BYTES)
    except TooLarge as error:
        raise ReleaseError(f"{error}; this release cannot be used") from None
    if blob is None:
        raise ReleaseError(
            f"release {version!r} of {env}/{package} does not exist ({key} not in {store.url}); "
            "adp dags list shows the releases"
        )
    try:
        manifest = parse_manifest(blob.data, key)
    except ManifestError as error:
        raise ReleaseError(f"{error}; this release cannot be used") from None
    if (manifest.env, manifest.package, manifest.version) != (env, package, version):
        raise ReleaseError(
            f"{key}: names {manifest.env}/{manifest.package} version {manifest.version}, not "
            f"{env}/{package} version {version}; this release cannot be used"
        )
    return manifest, blob.data


def move_pointer(
    store: Store,
    env: str,
    package: str,
    version: str,
    manifest_bytes: bytes,
    expected: PointerState,
    updated_by: str,
    action: str,
) -> Pointer:
    """Point ``env/package`` at ``version``, only if the pointer is still ``expected``."""
    key = names.pointer_key(env, package)
    names.check_label(updated_by, "--publisher")
    pointer = Pointer(
        env=env,
        package=package,
        version=names.check_version(version),
        manifest_sha256=hashlib.sha256(manifest_bytes).hexdigest(),
        previous=expected.version,
        updated_at=now(),
        updated_by=updated_by,
        action=action,
    )
    data = pointer.to_bytes()  # unique: it carries this move's time and mover
    try:
        retrying(lambda: store.put_if(key, data, expected.etag), key)
    except PreconditionFailed:
        landed = store.get(key)
        if landed is not None and landed.data == data:
            return pointer  # this very write landed; only its answer was lost (then retried)
        seen = read_pointer(store, env, package).version
        was = repr(expected.version) if expected.version else "absent"
        raise PointerConflict(
            f"conflict: {key} moved while this {action} ran (it was {was}, it is now "
            f"{seen!r}); another publisher won. Nothing was pointed at {version!r}: check adp "
            "dags list and run again"
        ) from None
    except Busy as error:
        raise PointerConflict(f"conflict: {error}. Nothing was pointed at {version!r}") from None
    return pointer


def rollback(store: Store, env: str, package: str, to: str, updated_by: str) -> Pointer:
    """Point ``env/package`` back at an existing release ``to`` (a release it already points at
    is left as it is and its pointer returned)."""
    names.check_version(to)
    expected = read_pointer(store, env, package)
    _, data = read_manifest(store, env, package, to)
    if expected.pointer is not None and expected.version == to:
        return expected.pointer  # already there: nothing to write
    return move_pointer(store, env, package, to, data, expected, updated_by, "rollback")


def retire(store: Store, env: str, package: str) -> str | None:
    """Take ``env/package`` out of the environment: its pointer is removed (its releases stay,
    for the record and for a return with rollback), so the next sync leaves its DAGs out.
    Returns the version it pointed at (None when it had no pointer)."""
    state = read_pointer(store, env, package)
    key = names.pointer_key(env, package)
    retrying(lambda: store.delete(key), key)
    return state.version
