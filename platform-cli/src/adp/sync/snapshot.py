"""An environment snapshot: the release of every package, named by the sha256 of its
canonical JSON, and recorded in the store at ``<env>/_snapshots/<id>.json``.

Only the platform writes that prefix (package names start with a letter, so no package's
``<env>/<package>/`` can be ``_snapshots``). The document is content-addressed: writing it
again is harmless, and reading it back checks its hash against its name.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from dataclasses import dataclass, field

from adp.releases import names
from adp.releases.store import DOCUMENT_MAX_BYTES, AlreadyExists, Store, TooLarge, retrying
from adp.sync.errors import Corrupt, SyncError
from adp.sync.layout import check_sha256

PREFIX = "_snapshots"
ID_RE = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class PackageRelease:
    version: str
    manifest_sha256: str


@dataclass(frozen=True)
class Snapshot:
    env: str
    packages: dict[str, PackageRelease] = field(default_factory=dict)

    def to_bytes(self) -> bytes:
        document = {
            "env": self.env,
            "packages": {
                name: {"version": r.version, "manifest_sha256": r.manifest_sha256}
                for name, r in sorted(self.packages.items())
            },
        }
        return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()

    @property
    def id(self) -> str:
        return hashlib.sha256(self.to_bytes()).hexdigest()


def check_id(snapshot_id: str) -> str:
    if not ID_RE.fullmatch(snapshot_id or ""):
        raise SyncError(f"snapshot id {snapshot_id!r}: not a sha256 (64 lowercase hex digits)")
    return snapshot_id


def snapshot_key(env: str, snapshot_id: str) -> str:
    return f"{names.check_env(env)}/{PREFIX}/{check_id(snapshot_id)}.json"


def parse_snapshot(data: bytes, snapshot_id: str) -> Snapshot:
    """The snapshot ``data`` holds; Corrupt unless it hashes to ``snapshot_id``."""
    if hashlib.sha256(data).hexdigest() != snapshot_id:
        raise Corrupt(f"snapshot {snapshot_id[:16]}...: its document does not hash to its id")
    try:
        document = json.loads(data)
        packages = {
            names.check_package(name): PackageRelease(
                names.check_version(item["version"]), check_sha256(item["manifest_sha256"])
            )
            for name, item in document["packages"].items()
        }
        return Snapshot(names.check_env(document["env"]), packages)
    except (SyncError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as error:
        raise Corrupt(f"snapshot {snapshot_id[:16]}...: unreadable ({error})") from None


def record_snapshot(store: Store, snapshot: Snapshot) -> str:
    """Write the snapshot's document to the store (create-only; already there is fine, the
    content is the same by construction); returns its key."""
    key = snapshot_key(snapshot.env, snapshot.id)
    with contextlib.suppress(AlreadyExists):
        retrying(lambda: store.put_new(key, snapshot.to_bytes()), key)
    return key


def read_snapshot(store: Store, env: str, snapshot_id: str) -> Snapshot:
    key = snapshot_key(env, snapshot_id)
    try:
        blob = store.get(key, max_bytes=DOCUMENT_MAX_BYTES)
    except TooLarge as error:  # never read whole
        raise Corrupt(
            f"{error}: a snapshot document is at most {DOCUMENT_MAX_BYTES >> 20} MiB"
        ) from None
    if blob is None:
        raise SyncError(f"snapshot {snapshot_id} of {env} is not in {store.url} ({key})")
    snapshot = parse_snapshot(blob.data, snapshot_id)
    if snapshot.env != env:
        raise SyncError(f"{key}: a snapshot of {snapshot.env!r}, not of {env!r}")
    return snapshot
