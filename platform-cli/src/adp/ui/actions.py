"""The page's actions, free of FastAPI and of Airflow: sync, approve and roll back a
repository (``adp.repos.promote``), roll back a package (``adp.releases.pointer``). Each
raises ``ActionRefused`` (an HTTP status and a message naming the field and the fix) having
changed nothing, or returns an ``ActionResult``. Who may act is decided by the caller
(``adp.ui.app``) from ``dags_touched``."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, Field

from adp.bundles.reparse import request_reparse
from adp.dev.api import AirflowClient
from adp.releases.locate import open_store
from adp.releases.names import InvalidName, check_version
from adp.releases.pointer import ReleaseError, rollback
from adp.releases.store import StoreError
from adp.repos.config import ReposConfig, ReposConfigError, Repository
from adp.repos.mirror import SHA_RE
from adp.repos.promote import Promoter, PromotionError, SyncResult
from adp.sources import PackageSource, RepositorySource, SourceFinding, source_status
from adp.sources.collect import UnknownSource
from adp.ui.settings import Environment


class ActionRefused(Exception):
    """The action cannot be done; nothing was changed."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(message)


class ActionResult(BaseModel):
    """What an action did, as the page shows it."""

    action: str
    source: str
    outcome: str = Field(
        description="promoted, unchanged, pending, refused, rewritten, unreachable, failed, "
        "approved or rolled-back"
    )
    ok: bool
    commit: str | None = None
    promoted: str | None = None
    detail: str
    dag_ids: list[str] = Field(default_factory=list)
    findings: list[SourceFinding] = Field(default_factory=list)
    reparse: str | None = None

    @classmethod
    def of(cls, action: str, result: SyncResult) -> ActionResult:
        return cls(
            action=action,
            source=result.repository,
            outcome=result.outcome,
            ok=result.outcome not in ("refused", "rewritten", "unreachable", "failed"),
            commit=result.commit,
            promoted=result.promoted,
            detail=result.detail,
            dag_ids=list(result.dags),
            findings=[SourceFinding.of_note(f) for f in result.findings],
            reparse=result.reparse,
        )


@dataclass
class Caller:
    """Who acts (recorded in the audit and the release pointer) and the Airflow that is asked
    to re-parse afterwards, with the caller's own token."""

    actor: str
    airflow_url: str | None = None
    token: str | None = None


def check_sha(sha: str) -> str:
    if not SHA_RE.match(sha):
        raise ActionRefused(
            422, "sha: give the full commit id (40 hex digits), as the page lists it"
        )
    return sha


def repository(config: ReposConfig | None, name: str) -> Repository:
    if config is None:
        raise ActionRefused(
            404,
            f"name: no repository named {name!r}: this Airflow has no airflow-repos.yaml "
            "(ADP_REPOS_CONFIG of the api-server)",
        )
    try:
        return config.repository(name)
    except ReposConfigError:
        known = ", ".join(r.name for r in config.repositories) or "none"
        raise ActionRefused(
            404, f"name: no repository named {name!r} in {config.path} (repositories: {known})"
        ) from None


def repository_status(config: ReposConfig, promoter: Promoter, name: str) -> RepositorySource:
    status = source_status(name, config, promoter.store)
    assert isinstance(status, RepositorySource)
    return status


def promoter(config: ReposConfig, caller: Caller) -> Promoter:
    try:
        return Promoter(
            config, actor=caller.actor, airflow_url=caller.airflow_url, airflow_token=caller.token
        )
    except (InvalidName, ImportError) as error:
        raise ActionRefused(409, f"release_store: {config.path}: {error}") from None


def dags_touched(status: RepositorySource | PackageSource, target: str | None = None) -> list[str]:
    """The DAG ids an action on ``status`` changes: those it runs now and, for ``target`` (a
    commit or a release), those it would run."""
    dags = set(status.dag_ids)
    if isinstance(status, RepositorySource):
        for note in [*status.pending, *status.refused]:
            if note.sha == target:
                dags.update(note.dags)
    for release in status.releases:
        if release.version == target:
            dags.update(release.dag_ids)
    return sorted(dags)


def sync(config: ReposConfig, name: str, caller: Caller) -> ActionResult:
    repository(config, name)
    return ActionResult.of("sync", promoter(config, caller).sync(name, reason="Airflow UI"))


def approve(config: ReposConfig, name: str, sha: str, caller: Caller) -> ActionResult:
    repository(config, name)
    check_sha(sha)
    try:
        return ActionResult.of("approve", promoter(config, caller).approve(name, sha))
    except PromotionError as error:
        raise ActionRefused(409, f"sha: {error}") from None


def rollback_repository(config: ReposConfig, name: str, sha: str, caller: Caller) -> ActionResult:
    repository(config, name)
    check_sha(sha)
    try:
        return ActionResult.of("rollback", promoter(config, caller).rollback(name, sha))
    except PromotionError as error:
        raise ActionRefused(409, f"sha: {error}") from None
    except (ReleaseError, StoreError) as error:
        raise ActionRefused(409, f"release_store: {error}") from None


def package_status(environment: Environment, name: str) -> PackageSource:
    try:
        store = open_store(environment.store, environment.endpoint_url)
        status = source_status(name, store=store, env=environment.env)
    except UnknownSource as error:
        raise ActionRefused(404, f"name: {error}") from None
    except (InvalidName, ImportError) as error:
        raise ActionRefused(409, f"release_store: {error}") from None
    assert isinstance(status, PackageSource)
    return status


def rollback_package(
    environment: Environment,
    config: ReposConfig | None,
    name: str,
    version: str,
    caller: Caller,
) -> ActionResult:
    """Point ``env/name`` at its earlier release ``version``, then ask Airflow to re-parse."""
    if config is not None and config.env == environment.env:
        owner = next((r for r in config.repositories if r.namespace == name), None)
        if owner is not None:
            raise ActionRefused(
                409,
                f"name: {name} is the namespace of git repository {owner.name}: roll the "
                "repository back (its promoted commit moves with the release)",
            )
    try:
        check_version(version)
    except InvalidName as error:
        raise ActionRefused(422, f"version: {error}") from None
    status = package_status(environment, name)
    if version not in {r.version for r in status.releases}:
        known = ", ".join(r.version for r in status.releases) or "none"
        raise ActionRefused(
            422, f"version: {name} has no release {version!r} in {environment.env} ({known})"
        )
    was = status.current_version
    if was == version:
        return ActionResult(
            action="rollback", source=name, outcome="unchanged", ok=True, commit=version,
            promoted=version, detail=f"{environment.env}/{name} runs {version} already",
        )  # fmt: skip
    store = open_store(environment.store, environment.endpoint_url)
    try:
        rollback(store, environment.env, name, version, caller.actor)
    except (ReleaseError, StoreError, InvalidName, OSError) as error:
        raise ActionRefused(409, f"version: {error}; nothing was changed") from None
    reparse = None
    if caller.airflow_url:
        with AirflowClient(caller.airflow_url, timeout=10, token=caller.token) as api:
            reparse = request_reparse(api, environment.bundle).detail
    return ActionResult(
        action="rollback", source=name, outcome="rolled-back", ok=True, commit=version,
        promoted=version, detail=f"{environment.env}/{name} current: {was} -> {version}",
        dag_ids=dags_touched(status, version), reparse=reparse,
    )  # fmt: skip
