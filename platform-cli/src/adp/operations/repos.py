"""The actions on git repositories as DAG sources, once for every front end: sync, approve,
rollback (each with a check that changes nothing, for a front end that asks first), add,
remove, list and status.

Invariant: each function takes typed arguments and either returns a model of
``adp.operations.results`` or raises an ``adp.errors`` type whose ``loc`` names the argument
(``name``, ``sha``, ``config``, ``release_store``, or a field of the new entry), having changed
nothing. The rules live here only: the commit id's form, the repository lookup, building the
``Promoter`` (and which of its errors are whose), what counts as a failed outcome
(``SyncResult.ok``), and the mapping of ``airflow-repos.yaml``'s problems (data: ``loc``
inside the file) onto the arguments of an addition."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from adp.errors import Problem, UsageError, problems_of
from adp.operations.caller import Caller
from adp.operations.errors import NotFound, Refused
from adp.operations.results import Addition, Decision, Removal, SyncOutcome
from adp.releases.locate import locate
from adp.releases.names import InvalidName, check_env
from adp.releases.pointer import ReleaseError
from adp.releases.store import StoreError
from adp.repos import manage
from adp.repos.config import (
    DEFAULT_FILE,
    ENV_VAR_RE,
    INLINE_SECRETS,
    TOKEN_PREFIXES,
    ReposConfig,
    ReposConfigError,
    Repository,
    load_config,
    redact_url,
)
from adp.repos.git import CredentialError, read_secret
from adp.repos.git_bundles import RESTART_NOTE, connection_env, git_bundle_entries
from adp.repos.manage import MissingConfig, NewRepository
from adp.repos.mirror import SHA_RE
from adp.repos.promote import Promoter, PromotionError, SyncResult
from adp.repos.state import StateDir
from adp.sources import (
    PackageSource,
    RepositorySource,
    SourcesReport,
    UnknownSource,
    age_text,
    list_sources,
    repository_sources,
    source_status,
)
from adp.sources.collect import receiver_path, webhook_info

Source = ReposConfig | Path


def open_config(source: Source) -> ReposConfig:
    """``source`` itself, or the file it names read now (``ReposConfigError`` when it cannot be
    used: its problems carry ``file``, ``line`` and the field)."""
    return source if isinstance(source, ReposConfig) else load_config(source)


def find_repository(config: ReposConfig, name: str) -> Repository:
    """The entry ``name`` (``NotFound`` at ``name``, listing the names there are)."""
    for repo in config.repositories:
        if repo.name == name:
            return repo
    known = ", ".join(r.name for r in config.repositories) or "none"
    raise NotFound(
        f"no repository named {name!r} in {config.path} (repositories: {known})", loc=("name",)
    )


def check_sha(sha: str) -> str:
    """``sha`` when it is a full commit id (``UsageError`` at ``sha`` otherwise)."""
    if not SHA_RE.fullmatch(sha):
        raise UsageError("give the full commit id (40 hex digits)", loc=("sha",))
    return sha


def promoter(config: ReposConfig, caller: Caller | None = None) -> Promoter:
    """The promoter of ``config`` acting for ``caller`` (``UsageError`` at ``release_store``
    when the file's store cannot be opened)."""
    caller = caller or Caller()
    try:
        return Promoter(
            config,
            actor=caller.actor,
            airflow_url=caller.airflow_url,
            airflow_token=caller.token,
            standby=caller.standby,
        )
    except (InvalidName, ImportError) as error:
        raise UsageError(f"{config.path}: {error}", loc=("release_store",)) from None


def _refused(error: PromotionError | ReleaseError | StoreError, at: str) -> Refused:
    """``error`` refused at argument ``at``, its next step (data) kept."""
    step = next((p.next_step for p in problems_of(error) if p.next_step), None)
    return Refused(problems=[Problem(message=str(error), loc=(at,), next_step=step)])


# -- syncing and a person's decisions ---------------------------------------------------------
def sync(
    source: Source, name: str, caller: Caller | None = None, reason: str = "manual"
) -> SyncOutcome:
    """Fetch, validate and (if it passes and auto_deploy is on) promote ``name``'s new commit."""
    config = open_config(source)
    find_repository(config, name)
    return SyncOutcome.of("sync", promoter(config, caller).sync(name, reason=reason))


def _commit_of(source: Source, name: str, sha: str) -> tuple[ReposConfig, Repository]:
    """The file and ``name``'s entry, ``sha`` checked: what every decision on a commit needs."""
    config = open_config(source)
    repo = find_repository(config, name)
    check_sha(sha)
    return config, repo


@contextlib.contextmanager
def _refusals(*, store: bool = False) -> Iterator[None]:
    """The promoter's refusal as ``Refused`` at ``sha``; with ``store``, the release store's
    errors as ``Refused`` at ``release_store`` (a rollback moves a pointer there)."""
    try:
        yield
    except PromotionError as error:
        raise _refused(error, "sha") from None
    except (ReleaseError, StoreError) as error:
        if not store:
            raise
        raise _refused(error, "release_store") from None


def check_approve(source: Source, name: str, sha: str, caller: Caller | None = None) -> Decision:
    """What approving ``sha`` would do (``Refused`` at ``sha`` when it would refuse); reads only."""
    config, repo = _commit_of(source, name, sha)
    acting = promoter(config, caller)
    with _refusals():
        note = acting.check_approve(name, sha)
    state = acting.state.load(name)
    return Decision(action="approve", repository=name, commit=sha, env=config.env,
                    namespace=repo.namespace, subject=note.subject,
                    promoted=state.promoted)  # fmt: skip


def approve(source: Source, name: str, sha: str, caller: Caller | None = None) -> SyncOutcome:
    """Promote ``sha`` (waiting for approval, rewritten or held back), validated again."""
    config, _ = _commit_of(source, name, sha)
    with _refusals():
        return SyncOutcome.of("approve", promoter(config, caller).approve(name, sha))


def check_rollback(source: Source, name: str, sha: str, caller: Caller | None = None) -> Decision:
    """What rolling back to ``sha`` would do (``moves`` False: it runs already); reads only."""
    config, repo = _commit_of(source, name, sha)
    with _refusals(store=True):
        moves = promoter(config, caller).check_rollback(name, sha)
    return Decision(action="rollback", repository=name, commit=sha, env=config.env,
                    namespace=repo.namespace, moves=moves)  # fmt: skip


def rollback(source: Source, name: str, sha: str, caller: Caller | None = None) -> SyncOutcome:
    """Point ``name``'s namespace back at ``sha``, a commit promoted before."""
    config, _ = _commit_of(source, name, sha)
    with _refusals(store=True):
        return SyncOutcome.of("rollback", promoter(config, caller).rollback(name, sha))


# -- adding and removing ----------------------------------------------------------------------
def _argument(problem: Problem, index: int) -> Problem | None:
    """A problem of the file about the new entry (``repositories[index]``) or the store it
    creates, as a problem of the addition's argument; None for any other."""
    loc = tuple(problem.loc)
    if loc[:2] == ("repositories", index) and len(loc) > 2:
        fields = [str(p) for p in loc[2:] if isinstance(p, str)]
        return Problem(message=problem.message, loc=("_".join(fields),))
    if loc in (("release_store", "bucket"), ("release_store", "env")):
        return Problem(message=problem.message, loc=(str(loc[1]),))
    return None


def _addition_error(error: ReposConfigError, config: Path, index: int) -> UsageError:
    """The file's problems with the new entry as problems of the arguments (nothing written);
    problems elsewhere in the file at ``config``."""
    mine = [_argument(p.problem, index) for p in error.problems]
    if not mine or any(p is None for p in mine):
        return UsageError(
            f"{config} has problems to fix first (nothing was written): "
            + "; ".join(error.problems),
            loc=("config",),
        )
    listed = [p for p in mine if p is not None]
    last = listed[-1]
    listed[-1] = last.model_copy(update={"message": f"{last.message}; nothing was written"})
    return UsageError(problems=listed)


def _missing(config: Path, bucket: str | None) -> UsageError:
    return UsageError(
        f"{config} does not exist yet: give bucket (the release store: s3://bucket, "
        "file:///folder or a folder) and env (the environment, e.g. dev) to create it; "
        "nothing was written",
        loc=("env",) if bucket else ("bucket",),
    )


def check_addition(
    config: Path,
    new: NewRepository,
    bucket: str | None = None,
    env: str | None = None,
    caller: Caller | None = None,
) -> bool:
    """Whether ``new`` can be added to the file at ``config`` (created for ``bucket`` and
    ``env`` when it does not exist): the whole new file is valid and its store can be opened.
    Returns whether the file would be created. Writes nothing; ``UsageError`` naming the
    argument (a field of ``new``, ``bucket``, ``env`` or ``config``) otherwise."""
    creates = not config.exists()
    if creates and bucket:
        try:
            locate(bucket, what="")
        except InvalidName as error:
            raise UsageError(str(error), loc=("bucket",)) from None
    if creates and env:
        try:
            check_env(env)
        except InvalidName as error:
            raise UsageError(str(error), loc=("env",)) from None
    index = 0
    if not creates:  # a file or a store that cannot be used is refused before writing
        existing = open_config(config)
        promoter(existing, caller)
        index = len(existing.repositories)
    try:
        manage.planned_text(config, new, bucket, env)
    except MissingConfig:
        raise _missing(config, bucket) from None
    except ReposConfigError as error:
        raise _addition_error(error, config, index) from None
    return creates


def add_repository(
    config: Path,
    new: NewRepository,
    caller: Caller | None = None,
    bucket: str | None = None,
    env: str | None = None,
    sync_now: bool = True,
    reason: str = "added",
) -> Addition:
    """Add ``new`` to the file at ``config`` (checked whole first: a bad entry writes nothing)
    and, with ``sync_now``, run its first sync."""
    caller = caller or Caller()
    index = len(open_config(config).repositories) if config.exists() else 0
    try:
        written = manage.add_repository(config, new, caller.actor, bucket, env)
    except MissingConfig:
        raise _missing(config, bucket) from None
    except ReposConfigError as error:
        raise _addition_error(error, config, index) from None
    repo = written.repository(new.name)
    outcome = None
    if sync_now:
        outcome = SyncOutcome.of("sync", promoter(written, caller).sync(new.name, reason=reason))
    return Addition(repository=new.name, namespace=repo.namespace, env=written.env,
                    config=str(written.path), sync=outcome)  # fmt: skip


def check_removal(source: Source, name: str) -> Removal:
    """What removing ``name`` would do; changes nothing (``ReposConfigError`` when the entry
    cannot be taken out of the file)."""
    config = open_config(source)
    find_repository(config, name)
    planned, _ = manage.plan_removal(config, name)
    return Removal(repository=name, env=planned.env, namespace=planned.namespace,
                   config=str(config.path))  # fmt: skip


def remove_repository(source: Source, name: str, caller: Caller | None = None) -> Removal:
    """Take ``name``'s namespace out of the environment (its releases and audit stay), then its
    entry out of the file, and ask Airflow to re-parse."""
    config = open_config(source)
    find_repository(config, name)
    acting = promoter(config, caller)
    try:
        done = manage.remove_repository(acting, name)
    except PromotionError as error:
        raise _refused(error, "release_store") from None
    return Removal(repository=name, env=done.env, namespace=done.namespace,
                   config=str(config.path), changed=True, release=done.release,
                   reparse=done.reparse)  # fmt: skip


# -- reading ----------------------------------------------------------------------------------
def list_repositories(source: Source, with_store: bool = False) -> list[RepositorySource]:
    """Every repository of the file (the release each runs only ``with_store``)."""
    config = open_config(source)
    store = promoter(config).store if with_store else None
    return repository_sources(config, store)


def sources(source: Source, env: str | None = None) -> SourcesReport:
    """Every DAG source of the environment: the packages of the store and the repositories."""
    config = open_config(source)
    if env is not None:
        try:
            check_env(env)
        except InvalidName as error:
            raise UsageError(str(error), loc=("env",)) from None
    return list_sources(config, promoter(config).store, env)


def status(source: Source, name: str) -> RepositorySource | PackageSource:
    """One source (a repository, or a package of the store) in detail (``NotFound`` at
    ``name``)."""
    config = open_config(source)
    try:
        return source_status(name, config, promoter(config).store)
    except UnknownSource as error:
        raise NotFound(str(error), loc=("name",)) from None


def audit(source: Source, name: str | None = None) -> list[dict[str, Any]]:
    """Every promotion, refusal, approval, rollback, addition and removal (of ``name``),
    oldest first."""
    return StateDir(open_config(source).state_dir).audit_entries(name)


class GitBundles(BaseModel):
    """Stock GitDagBundle entries tracking each promoted branch, and their connections (as
    environment variables); ``note``: they need a restart of every Airflow process."""

    entries: list[dict[str, Any]]
    connections: dict[str, str]
    note: str = RESTART_NOTE


def git_bundles(source: Source, mirror_url: str) -> GitBundles:
    """The bundle configuration for Airflow to read the mirrors at ``mirror_url`` (with
    ``{name}``); ``UsageError`` at ``mirror_url`` when it cannot be used."""
    config = open_config(source)
    try:
        connections = connection_env(config, mirror_url)
    except (ValueError, KeyError, IndexError) as error:
        raise UsageError(str(error), loc=("mirror_url",)) from None
    return GitBundles(entries=git_bundle_entries(config), connections=connections)


def webhook_secret(config: ReposConfig, repo: Repository) -> bytes | None:
    """The shared secret of ``repo``'s webhook (None without a webhook); ``UsageError`` at
    ``config`` when the variable or file it names cannot be read (the value is never shown)."""
    if repo.webhook is None:
        return None
    try:
        return read_secret(
            config,
            repo.webhook.secret_env,
            repo.webhook.secret_file,
            f"repository {repo.name}: webhook secret",
        ).encode()
    except CredentialError as error:
        raise UsageError(str(error), loc=("config",)) from None


__all__ = [
    "DEFAULT_FILE",
    "ENV_VAR_RE",
    "INLINE_SECRETS",
    "TOKEN_PREFIXES",
    "GitBundles",
    "NewRepository",
    "NotFound",
    "PackageSource",
    "ReposConfig",
    "ReposConfigError",
    "Repository",
    "RepositorySource",
    "SourcesReport",
    "SyncResult",
    "add_repository",
    "age_text",
    "approve",
    "audit",
    "check_addition",
    "check_approve",
    "check_removal",
    "check_rollback",
    "check_sha",
    "find_repository",
    "git_bundles",
    "list_repositories",
    "open_config",
    "promoter",
    "receiver_path",
    "redact_url",
    "remove_repository",
    "rollback",
    "sources",
    "status",
    "sync",
    "webhook_info",
    "webhook_secret",
]
