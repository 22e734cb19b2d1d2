"""The actions on the release store, once for every front end: publish a DAG folder, roll a
package back to an earlier release, list the releases.

Invariant: each function takes typed arguments and either returns a model (``Publication``,
``PointerMove``, a list of ``PackageReleases``) or raises an ``adp.errors`` type whose ``loc``
names the argument (``bucket``, ``endpoint_url``, ``env``, ``package``, ``version``,
``config``), having changed nothing. A moved pointer is followed by one re-parse request to
the caller's Airflow (``adp.bundles.reparse.ask_airflow``), reported in the result."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from adp.bundles.config import default_bundle_name
from adp.bundles.reparse import ask_airflow
from adp.errors import AdpError, UsageError
from adp.operations.caller import Caller
from adp.operations.errors import NotFound, Refused
from adp.operations.results import PointerMove, Reparse
from adp.operations.validate import project_options
from adp.releases import names
from adp.releases.listing import PackageReleases, list_releases
from adp.releases.locate import locate
from adp.releases.names import InvalidName
from adp.releases.pointer import ReleaseError, read_pointer, rollback
from adp.releases.publish import PublishRequest, ValidationFailed, default_publisher, publish
from adp.releases.store import Store, StoreError
from adp.repos.config import ReposConfig
from adp.sources import (
    PackageSource,
    RepositorySource,
    SourcesReport,
    UnknownSource,
    list_sources,
    source_status,
)
from adp.validation import ConfigError, render


class PublishRefused(Refused):
    """Validation refused the folder (nothing was written); ``findings_text`` shows why."""

    def __init__(self, message: str, findings_text: str) -> None:
        super().__init__(message, loc=("path",))
        self.findings_text = findings_text


class Publication(BaseModel):
    """A release written (or, ``dry_run``, what would be written) and the pointer moved."""

    env: str
    package: str
    store: str
    version: str
    previous: str | None
    files: int
    dags: int
    dry_run: bool = False
    keys: list[str] = Field(default_factory=list, description="The objects written.")
    reparse: Reparse | None = None


def _checked(check: object, value: str | None, argument: str) -> None:
    if value is None:
        return
    try:
        check(value)  # type: ignore[operator]
    except InvalidName as error:
        raise UsageError(str(error), loc=(argument,)) from None


def open_store(bucket: str, endpoint_url: str | None = None) -> Store:
    """The store ``bucket`` names (``UsageError`` at ``bucket`` or ``endpoint_url``; never a
    guess: a bare word that names no folder is refused, nothing is created)."""
    if endpoint_url and not bucket.startswith("s3://"):
        raise UsageError(f"is for s3:// buckets, not {bucket!r}", loc=("endpoint_url",))
    try:
        return locate(bucket, endpoint_url or None, what="").open()
    except InvalidName as error:
        raise UsageError(str(error), loc=("bucket",)) from None
    except ImportError:
        raise UsageError(
            "an s3:// store needs the s3 extra: pip install 'platform-cli[s3]'", loc=("bucket",)
        ) from None


def reparse(caller: Caller | None, env: str, bundle: str | None = None) -> Reparse | None:
    """Ask the caller's Airflow to refresh the environment's bundle (None without a URL)."""
    if caller is None or not caller.airflow_url:
        return None
    name = bundle or default_bundle_name(env)
    return Reparse.of(ask_airflow(caller.airflow_url, name, caller.token), name, caller.airflow_url)


def publish_release(
    bucket: str,
    env: str,
    package: str,
    path: Path,
    version: str | None = None,
    image_tag: str | None = None,
    config: Path | None = None,
    endpoint_url: str | None = None,
    dry_run: bool = False,
    caller: Caller | None = None,
    bundle: str | None = None,
) -> Publication:
    """Validate ``path``, write it as the immutable release ``env/package/version`` and point
    the environment at it (conditional write: a concurrent publisher makes this one fail)."""
    store = open_store(bucket, endpoint_url)
    _checked(names.check_env, env, "env")
    _checked(names.check_package, package, "package")
    _checked(names.check_version, version, "version")
    # [tool.adp.dags] of pyproject.toml, this package, import check on (it yields the DAG
    # ids the publisher checks)
    options = project_options(config, {"package": package, "import_check": True})
    publisher = caller.actor if caller else None
    request = PublishRequest(env, package, path, version, image_tag, publisher)
    try:
        plan = publish(store, request, options, dry_run=dry_run)
    except InvalidName as error:
        raise UsageError(str(error), loc=("path",)) from None
    except ConfigError as error:
        raise UsageError(str(error), loc=("config",)) from None
    except ValidationFailed as error:
        text = ""
        if error.findings:
            failing = error.report.model_copy(update={"findings": error.findings})
            text = render(failing, "text", options.fail_on)
        raise PublishRefused(str(error), text) from None
    except (ReleaseError, StoreError) as error:
        raise Refused(str(error), loc=("version",)) from None
    m = plan.manifest
    done = Publication(
        env=env, package=package, store=store.url, version=m.version,
        previous=plan.expected.version, files=len(m.files), dags=len(m.dags), dry_run=dry_run,
        keys=list(plan.keys),
    )  # fmt: skip
    if not dry_run:
        done.reparse = reparse(caller, env, bundle)
    return done


def rollback_release(
    bucket: str,
    env: str,
    package: str,
    to: str,
    endpoint_url: str | None = None,
    caller: Caller | None = None,
    bundle: str | None = None,
    store: Store | None = None,
) -> PointerMove:
    """Point ``env/package`` back at its existing release ``to`` (conditional write), then ask
    Airflow to re-parse. ``NotFound``/``Refused`` at ``version`` when it cannot."""
    store = store or open_store(bucket, endpoint_url)
    _checked(names.check_env, env, "env")
    _checked(names.check_package, package, "package")
    _checked(names.check_version, to, "version")
    actor = (caller.actor if caller else None) or default_publisher()
    try:
        before = read_pointer(store, env, package).version
        pointer = rollback(store, env, package, to, actor)
    except InvalidName as error:
        raise UsageError(str(error), loc=("version",)) from None
    except (ReleaseError, StoreError) as error:
        raise Refused(str(error), loc=("version",)) from None
    if before == to:
        return PointerMove(env=env, package=package, store=store.url, previous=to, version=to,
                           changed=False)  # fmt: skip
    return PointerMove(
        env=env, package=package, store=store.url, previous=pointer.previous,
        version=pointer.version, changed=True, reparse=reparse(caller, env, bundle),
    )  # fmt: skip


def releases(
    bucket: str, env: str, package: str | None = None, endpoint_url: str | None = None
) -> tuple[Store, list[PackageReleases]]:
    """Each package's releases (oldest first) and its current pointer."""
    store = open_store(bucket, endpoint_url)
    _checked(names.check_env, env, "env")
    _checked(names.check_package, package, "package")
    try:
        return store, list_releases(store, env, package)
    except InvalidName as error:
        raise UsageError(str(error), loc=("package",)) from None
    except (ReleaseError, StoreError) as error:
        raise Refused(str(error), loc=("bucket",)) from None


# -- a package of an environment's store (the UI's page) ---------------------------------------
def _environment_store(store_url: str, endpoint_url: str | None) -> Store:
    """The environment's own store: a problem with it is the setting's (``release_store``)."""
    try:
        return open_store(store_url, endpoint_url)
    except UsageError as error:
        raise UsageError(error.message, loc=("release_store",)) from None


def package_status(store_url: str, endpoint_url: str | None, env: str, name: str) -> PackageSource:
    """The package ``name`` of ``env`` in the store (``NotFound`` at ``name``)."""
    store = _environment_store(store_url, endpoint_url)
    try:
        status = source_status(name, store=store, env=env)
    except UnknownSource as error:
        raise NotFound(str(error), loc=("name",)) from None
    except (InvalidName, ImportError) as error:
        raise UsageError(str(error), loc=("release_store",)) from None
    if not isinstance(status, PackageSource):
        raise NotFound(f"{name} is not a package of {env}", loc=("name",))
    return status


def dags_touched(status: RepositorySource | PackageSource, target: str | None = None) -> list[str]:
    """The DAG ids an action on ``status`` changes: those it runs now and, for ``target`` (a
    commit or a release), those it would run. Who may act is decided from these."""
    dags = set(status.dag_ids)
    if isinstance(status, RepositorySource):
        for note in [*status.pending, *status.refused]:
            if note.sha == target:
                dags.update(note.dags)
    for release in status.releases:
        if release.version == target:
            dags.update(release.dag_ids)
    return sorted(dags)


def rollback_package(
    store_url: str,
    endpoint_url: str | None,
    env: str,
    name: str,
    version: str,
    config: ReposConfig | None = None,
    caller: Caller | None = None,
    bundle: str | None = None,
) -> PointerMove:
    """Point ``env/name`` at its earlier release ``version``, then ask Airflow to re-parse. A
    package that is the namespace of a git repository of ``config`` is rolled back through
    the repository (``Refused`` at ``name``): its promoted commit moves with the release."""
    if config is not None and config.env == env:
        owner = next((r for r in config.repositories if r.namespace == name), None)
        if owner is not None:
            raise Refused(
                f"{name} is the namespace of git repository {owner.name}: roll the repository "
                "back (its promoted commit moves with the release)",
                loc=("name",),
            )
    _checked(names.check_version, version, "version")
    status = package_status(store_url, endpoint_url, env, name)
    if version not in {r.version for r in status.releases}:
        known = ", ".join(r.version for r in status.releases) or "none"
        raise UsageError(f"{name} has no release {version!r} in {env} ({known})", loc=("version",))
    touched = dags_touched(status, version)
    if status.current_version == version:
        return PointerMove(env=env, package=name, store=store_url, previous=version,
                           version=version, changed=False, dag_ids=touched)  # fmt: skip
    store = _environment_store(store_url, endpoint_url)
    try:
        moved = rollback_release(store_url, env, name, version, caller=caller, bundle=bundle,
                                 store=store)  # fmt: skip
    except AdpError as error:
        raise Refused(f"{error.message}; nothing was changed", loc=("version",)) from None
    return moved.model_copy(update={"previous": status.current_version, "dag_ids": touched})


def environment_sources(
    store_url: str, endpoint_url: str | None, env: str, config: ReposConfig | None = None
) -> SourcesReport:
    """Every DAG source of ``env`` in detail: the store's packages and ``config``'s
    repositories (``UsageError`` at ``release_store`` when the store cannot be opened)."""
    store = _environment_store(store_url, endpoint_url)
    return list_sources(config, store, env, detail=True)


__all__ = [
    "NotFound",
    "PackageSource",
    "Publication",
    "PublishRefused",
    "dags_touched",
    "environment_sources",
    "open_store",
    "package_status",
    "publish_release",
    "releases",
    "reparse",
    "rollback_package",
    "rollback_release",
]
