"""What a release store holds for an environment: each package's releases and its pointer."""

from __future__ import annotations

from dataclasses import dataclass, field

from adp.releases import names
from adp.releases.manifest import Manifest, ManifestError, Pointer, parse_manifest
from adp.releases.pointer import ReleaseError, read_pointer
from adp.releases.store import DOCUMENT_MAX_BYTES, Store, TooLarge


@dataclass
class Release:
    version: str
    manifest: Manifest | None  # None: incomplete (no manifest) or unreadable
    problem: str | None = None


@dataclass
class PackageReleases:
    package: str
    current: Pointer | None = None
    problem: str | None = None
    releases: list[Release] = field(default_factory=list)


def _release(store: Store, env: str, package: str, version: str) -> Release:
    """One release folder of the store; a name or manifest that is not this package's own
    release is the release's problem (a writer of one prefix cannot list another's)."""
    try:
        key = names.manifest_key(env, package, version)
    except names.InvalidName as error:
        return Release(version, None, f"not a release: {error}")
    try:
        blob = store.get(key, max_bytes=DOCUMENT_MAX_BYTES)
    except TooLarge as error:
        return Release(version, None, str(error))
    if blob is None:
        return Release(version, None, "incomplete: no manifest.json")
    try:
        manifest = parse_manifest(blob.data, key)
    except ManifestError as error:
        return Release(version, None, str(error))
    if (manifest.env, manifest.package, manifest.version) != (env, package, version):
        return Release(
            version,
            None,
            f"{key}: names {manifest.env}/{manifest.package} version {manifest.version}; "
            "this release cannot be used",
        )
    return Release(version, manifest)


def list_releases(store: Store, env: str, package: str | None = None) -> list[PackageReleases]:
    """Every package of ``env`` (or only ``package``), with releases oldest first."""
    names.check_env(env)
    prefix = names.package_prefix(env, package) if package else f"{env}/"
    found: dict[str, PackageReleases] = {}
    versions: dict[str, set[str]] = {}
    for key in store.list(prefix):
        parts = key.split("/")
        if len(parts) < 3 or not names.PACKAGE_RE.fullmatch(parts[1]):
            continue
        entry = found.setdefault(parts[1], PackageReleases(parts[1]))
        if len(parts) >= 4 and parts[2] == "releases":
            versions.setdefault(entry.package, set()).add(parts[3])
    if package and package not in found:
        found[package] = PackageReleases(package)
    for name, entry in found.items():
        try:
            entry.current = read_pointer(store, env, name).pointer
        except ReleaseError as error:
            entry.problem = str(error)
        for version in sorted(versions.get(name, ())):
            entry.releases.append(_release(store, env, name, version))
        entry.releases.sort(
            key=lambda r: (r.manifest.created_at.isoformat() if r.manifest else "", r.version)
        )
    return [found[name] for name in sorted(found)]
