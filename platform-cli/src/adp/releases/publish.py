"""Publishing a DAG folder: validate, write an immutable release, move the pointer.

Order matters: nothing is written before validation passed and every name, path and DAG id was
checked; the release's files are created first (each, then all of them in one pack, which a
reader fetches with one request) and its manifest last (a release without a manifest is
incomplete, and is never pointed at); the pointer moves last, from the state read before the
release was written, so a publisher that lost a race gets PointerConflict.
"""

from __future__ import annotations

import functools
import getpass
import hashlib
import os
import socket
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from adp.releases import names
from adp.releases.local_store import LocalStore
from adp.releases.manifest import (
    Manifest,
    ManifestDag,
    ManifestFile,
    Pointer,
    content_sha256,
    now,
    pack_bytes,
)
from adp.releases.pointer import (
    PointerState,
    ReleaseError,
    move_pointer,
    read_manifest,
    read_pointer,
)
from adp.releases.store import DOCUMENT_MAX_BYTES, AlreadyExists, Store, StoreError, retrying
from adp.validation import Finding, ImportStandby, Report, Severity, ValidationOptions, validate

SKIPPED_DIRS = {"__pycache__", ".git", ".venv", "node_modules", ".ruff_cache", ".pytest_cache"}
SKIPPED_SUFFIXES = (".pyc", ".pyo")


class ValidationFailed(ReleaseError):
    """Validation found problems at or above error (or a DAG id of another package)."""

    def __init__(self, message: str, report: Report, findings: Sequence[Finding]) -> None:
        super().__init__(message)
        self.report = report
        self.findings = list(findings)


class VersionExists(ReleaseError):
    """The version is already published: releases are immutable."""


@dataclass
class PublishRequest:
    env: str
    package: str
    path: Path
    version: str | None = None
    image_tag: str | None = None
    publisher: str | None = None
    git_sha: str | None = None  # default: HEAD of the git repository the folder is in


@dataclass
class Plan:
    """What a publication writes: every key and its bytes, and the pointer state it moves from."""

    manifest: Manifest
    manifest_bytes: bytes
    files: dict[str, bytes]  # key -> content: every file, then the pack; manifest excluded
    manifest_key: str
    expected: PointerState
    report: Report
    pointer: Pointer | None = field(default=None)

    @property
    def keys(self) -> list[str]:
        return [*self.files, self.manifest_key]


def default_publisher() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = f"uid{os.getuid()}"
    return f"{user}@{socket.gethostname()}"


def git_sha(path: Path) -> str | None:
    """HEAD of the git repository ``path`` is in, or None when it is in none."""
    try:
        answer = subprocess.run(
            ["git", "-C", str(path), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    sha = answer.stdout.strip()
    return sha if answer.returncode == 0 and len(sha) in (40, 64) else None


def collect_files(root: Path) -> dict[str, bytes]:
    """Every regular file under ``root`` (links followed only to files inside it), by path
    relative to it; a path a release cannot hold is refused with its name."""
    root = root.resolve()
    files: dict[str, bytes] = {}
    for folder, dirs, entries in os.walk(root, followlinks=False):
        here = Path(folder)
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and not (here / d).is_symlink())
        for name in sorted(entries):
            if name.endswith(SKIPPED_SUFFIXES):
                continue
            path = here / name
            relative = path.relative_to(root).as_posix()
            real = path.resolve()
            if real != root and root not in real.parents:
                raise ReleaseError(
                    f"{path}: links to {real}, outside {root}; a release holds only files of "
                    "its folder: copy the file in or remove the link"
                )
            if not real.is_file():
                raise ReleaseError(f"{path}: not a regular file; remove it from the DAG folder")
            files[names.check_path(relative)] = real.read_bytes()
    if not files:
        raise ReleaseError(f"{root}: no files to publish")
    return files


def check_report(report: Report, request: PublishRequest, root: Path) -> None:
    """The report must be of this folder and package, clean at error level, and know only
    ``<package>_*`` DAG ids."""
    if report.roots != [str(root)] or report.package != request.package:
        raise ReleaseError(
            f"the validation report is of {report.roots} for package {report.package!r}, not of "
            f"{root} for {request.package!r}: validate the folder being published"
        )
    failing = report.failing(Severity.error)
    if failing:
        raise ValidationFailed(
            f"validation of {root} found {len(failing)} problem(s) at error level; nothing was "
            "published: fix them (adp dags validate shows the same findings)",
            report,
            failing,
        )
    prefix = f"{request.package}_"
    foreign = [dag for dag in report.dags if not dag.dag_id.startswith(prefix)]
    if foreign:
        ids = ", ".join(f"{d.dag_id!r} ({d.path})" for d in foreign)
        raise ValidationFailed(
            f"DAG id(s) {ids} do not start with {prefix!r}: package {request.package!r} may "
            "publish only its own DAGs; rename them. Nothing was published",
            report,
            [],
        )


def check_ownership(store: Store, env: str, package: str, dag_ids: list[str]) -> None:
    """Every DAG id must belong to ``package`` among the environment's packages (the longest
    package name it starts with, ``names.owner``), and no package whose name prefixes this
    one's may already run a DAG id that would belong to this one; ReleaseError naming the DAG
    id, the package it belongs to and the fix otherwise."""
    try:
        found = store.folders(f"{env}/")
    except StoreError:
        if not (isinstance(store, LocalStore) and not store.root.exists()):
            raise
        found = []  # the first publication creates the store
    packages = {p for p in found if names.PACKAGE_RE.fullmatch(p)} | {package}
    for dag_id in dag_ids:
        belongs = names.owner(dag_id, packages)
        if belongs != package:
            raise ReleaseError(
                f"DAG id {dag_id!r} belongs to package {belongs!r} of {env} (the longest package "
                f"name it starts with), not to {package!r}: rename it so that it starts with "
                f"{package + '_'!r} but not with {str(belongs) + '_'!r}. Nothing was published"
            )
    for shorter in sorted(p for p in packages if package.startswith(f"{p}_")):
        try:
            state = read_pointer(store, env, shorter)
            if state.version is None:
                continue
            manifest, _ = read_manifest(store, env, shorter, state.version)
        except ReleaseError:
            continue  # a package that cannot be read runs nothing that could collide
        taken = sorted(d.dag_id for d in manifest.dags if d.dag_id.startswith(f"{package}_"))
        if taken:
            raise ReleaseError(
                f"package {shorter!r} of {env} already runs DAG id(s) {', '.join(taken)}, which "
                f"start with {package + '_'!r}: package {package!r} would take them over. Rename "
                f"them in {shorter!r} first, or choose another package name. Nothing was published"
            )


def changed_since(before: dict[str, bytes], root: Path) -> list[str]:
    """The paths whose content differs from ``before`` now (added, removed or edited)."""
    after = collect_files(root)
    return sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))


def plan_release(
    store: Store, request: PublishRequest, report: Report, read: dict[str, bytes] | None = None
) -> Plan:
    """Check everything and compute what to write; reads the store, writes nothing.

    ``read`` is the folder's content read before validation started: what is published is
    exactly those bytes, and a folder that changed while it was validated is refused."""
    names.check_env(request.env)
    names.check_package(request.package)
    publisher = names.check_label(request.publisher or default_publisher(), "--publisher")
    if request.image_tag is not None:
        names.check_label(request.image_tag, "--image-tag")
    root = Path(request.path).resolve()
    if not root.is_dir():
        raise ReleaseError(f"--path {request.path}: not a folder; give the DAG folder to publish")
    check_report(report, request, root)
    check_ownership(store, request.env, request.package, [d.dag_id for d in report.dags])
    if read is None:
        contents = collect_files(root)
    else:
        changed = changed_since(read, root)
        if changed:
            raise ReleaseError(
                f"{', '.join(changed)} in {root} changed while the folder was validated; "
                "nothing was published: publish again once nothing writes to the folder"
            )
        contents = read
    validated = set(report.files)
    unvalidated = sorted(p for p in contents if p.endswith(".py") and p not in validated)
    if unvalidated:
        raise ReleaseError(
            f"{', '.join(unvalidated)} in {root} were not validated; validate the whole folder"
        )
    listed = [
        ManifestFile(path=path, size=len(data), sha256=hashlib.sha256(data).hexdigest())
        for path, data in sorted(contents.items())
    ]
    content = content_sha256(listed)
    created = now()
    version = request.version or f"{created:%Y%m%dT%H%M%SZ}-{content[:8]}"
    names.check_version(version)
    manifest = Manifest(
        env=request.env,
        package=request.package,
        version=version,
        created_at=created,
        publisher=publisher,
        image_tag=request.image_tag,
        git_sha=request.git_sha or git_sha(root),
        content_sha256=content,
        files=listed,
        dags=[ManifestDag(dag_id=d.dag_id, path=d.path, line=d.line) for d in report.dags],
    )
    manifest_key = names.manifest_key(request.env, request.package, version)
    prefix = names.package_prefix(request.env, request.package)
    files = {
        names.require_under(names.file_key(request.env, request.package, version, p), prefix): d
        for p, d in contents.items()
    }
    files[names.pack_key(request.env, request.package, version)] = pack_bytes(listed, contents)
    if store.get(manifest_key) is not None:
        raise VersionExists(
            f"release {version!r} of {request.env}/{request.package} already exists "
            f"({manifest_key}); releases are immutable: publish under another --version"
        )
    expected = read_pointer(store, request.env, request.package)
    data = manifest.to_bytes()
    if len(data) > DOCUMENT_MAX_BYTES:
        raise ReleaseError(
            f"the manifest of {root} would be {len(data)} bytes, more than the "
            f"{DOCUMENT_MAX_BYTES} bytes a reader accepts ({len(listed)} files): split the "
            "package, or leave generated files out of the DAG folder. Nothing was published"
        )
    return Plan(manifest, data, files, manifest_key, expected, report)


def write_release(store: Store, plan: Plan) -> None:
    """Create every file of the release, then its manifest; each only where its key is free,
    or already holds exactly these bytes: a write whose answer was lost and was retried, or
    the same publish run again after it stopped half way (the manifest, written last and
    naming its publisher and time, still lets only one publish of a version complete)."""
    for key, data in [*plan.files.items(), (plan.manifest_key, plan.manifest_bytes)]:
        try:
            retrying(functools.partial(store.put_new, key, data), key)
        except AlreadyExists:
            existing = store.get(key)
            if existing is not None and existing.data == data:
                continue
            raise VersionExists(
                f"{key} already exists in {store.url}: release {plan.manifest.version!r} is "
                "being or was published by someone else; releases are immutable: publish "
                "under another --version"
            ) from None


def commit(store: Store, plan: Plan) -> Plan:
    """Write the release and move the pointer to it (PointerConflict if someone moved it)."""
    write_release(store, plan)
    m = plan.manifest
    plan.pointer = move_pointer(
        store, m.env, m.package, m.version, plan.manifest_bytes, plan.expected, m.publisher,
        "publish",
    )  # fmt: skip
    return plan


def publish_validated(
    store: Store,
    request: PublishRequest,
    report: Report,
    dry_run: bool = False,
    read: dict[str, bytes] | None = None,
) -> Plan:
    """Publish ``request.path`` with a validation ``report`` of it (see ``publish``)."""
    plan = plan_release(store, request, report, read)
    return plan if dry_run else commit(store, plan)


def publish(
    store: Store,
    request: PublishRequest,
    options: ValidationOptions,
    dry_run: bool = False,
    standby: ImportStandby | None = None,
) -> Plan:
    """Validate ``request.path`` (as ``options`` say, for ``request.package``, with the import
    check, which yields the DAG ids; ``standby``: the caller's ``ImportStandby``), then write the
    release and move the pointer. With ``dry_run`` it returns the plan and writes nothing."""
    names.check_env(request.env)
    names.check_package(request.package)
    root = Path(request.path)
    if not root.is_dir():
        raise ReleaseError(f"--path {request.path}: not a folder; give the DAG folder to publish")
    options = options.model_copy(update={"package": request.package, "import_check": True})
    read = collect_files(root)  # the bytes published: validation must see these very ones
    report = validate([str(root.resolve())], options, standby)
    return publish_validated(store, request, report, dry_run, read)
