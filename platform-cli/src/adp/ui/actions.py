"""The page's actions, free of FastAPI and of Airflow: each is an operation of
``adp.operations`` (sync, approve and roll back a repository; roll back a package), its result
as the page shows it (``ActionResult``). Refusals are ``adp.errors`` types naming the field in
``loc``: the operations' own, and ``ActionRefused`` for the page's (who may act, which
environment), which carries its HTTP status. ``http_status`` and ``detail`` render any of them
for the page. Who may act is decided by the caller (``adp.ui.app``) from ``dags_touched``."""

from __future__ import annotations

from pydantic import BaseModel, Field

from adp.errors import AdpError, Failure, Loc, NextStep, Problem, UsageError
from adp.operations import Caller, NotFound, PointerMove, SourceFinding, SyncOutcome
from adp.operations import releases as release_ops
from adp.operations import repos as ops
from adp.operations.releases import dags_touched
from adp.operations.repos import PackageSource, ReposConfig, Repository, RepositorySource
from adp.ui.settings import Environment

__all__ = [
    "ActionRefused",
    "ActionResult",
    "Caller",
    "dags_touched",
    "detail",
    "http_status",
]


class ActionRefused(AdpError):
    """The page refuses the action (who may act, which environment); nothing was changed.
    ``status`` is the HTTP status; ``loc`` the field or header it is about, if any."""

    def __init__(self, status: int, message: str, loc: Loc = ()) -> None:
        self.status = status
        self.exit_code = 2 if status in (404, 422) else 1
        super().__init__(message, loc=loc)


def http_status(error: AdpError) -> int:
    """The page's status for ``error``: 404 for what does not exist, 422 for a bad field, 409
    for what cannot be done now (the store, a refusal), 403 for the page's own refusals."""
    if isinstance(error, ActionRefused):
        return error.status
    if isinstance(error, NotFound):
        return 404
    if error.loc[:1] == ("release_store",) or isinstance(error, Failure):
        return 409
    return 422 if isinstance(error, UsageError) else 409


def page_words(step: NextStep) -> str:
    """``step`` as the page does it: the button of the repository's section."""
    name = step.repository
    if step.action == "approve":
        commit = f" {step.commit[:12]}" if step.commit else ""
        return f"approve{commit} of {name} with its Approve button"
    if step.action == "rollback":
        return f"roll {name} back to an earlier commit with its Roll back button"
    if step.action == "sync":
        return f"sync {name} with its Sync now button"
    return f"the section of {name} lists its commits"


def with_step(text: str, step: NextStep | None) -> str:
    """A sync's ``detail`` followed by its next step in the page's words."""
    return f"{text}: {page_words(step)}" if step is not None else text


def detail(error: AdpError) -> str:
    """``error`` in the page's words: each problem as ``field: message``, its next step after
    it in parentheses."""

    def one(problem: Problem) -> str:
        if problem.file or not problem.loc:
            text = problem.text()
        else:
            text = f"{'.'.join(str(p) for p in problem.loc)}: {problem.message}"
        step = getattr(problem, "next_step", None)  # airflow-repos.yaml's FileProblem has none
        return f"{text} ({page_words(step)})" if step else text

    return "; ".join(one(p) for p in error.problems)


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
    def of(cls, result: SyncOutcome) -> ActionResult:
        return cls(
            action=result.action,
            source=result.repository,
            outcome=result.outcome,
            ok=result.ok,
            commit=result.commit,
            promoted=result.promoted,
            detail=with_step(result.detail, result.next_step),
            dag_ids=result.dag_ids,
            findings=result.findings,
            reparse=result.reparse,
        )

    @classmethod
    def of_move(cls, moved: PointerMove) -> ActionResult:
        where = f"{moved.env}/{moved.package}"
        return cls(
            action="rollback",
            source=moved.package,
            outcome="rolled-back" if moved.changed else "unchanged",
            ok=True,
            commit=moved.version,
            promoted=moved.version,
            detail=(
                f"{where} current: {moved.previous} -> {moved.version}"
                if moved.changed
                else f"{where} runs {moved.version} already"
            ),
            dag_ids=moved.dag_ids if moved.changed else [],
            reparse=moved.reparse.detail if moved.reparse else None,
        )


def check_sha(sha: str) -> str:
    return ops.check_sha(sha)


def repository(config: ReposConfig | None, name: str) -> Repository:
    if config is None:
        raise ActionRefused(
            404,
            f"no repository named {name!r}: this Airflow has no airflow-repos.yaml "
            "(ADP_REPOS_CONFIG of the api-server)",
            loc=("name",),
        )
    return ops.find_repository(config, name)


def repository_status(config: ReposConfig, name: str) -> RepositorySource:
    status = ops.status(config, name)
    assert isinstance(status, RepositorySource)
    return status


def sync(config: ReposConfig, name: str, caller: Caller) -> ActionResult:
    return ActionResult.of(ops.sync(config, name, caller, reason="Airflow UI"))


def approve(config: ReposConfig, name: str, sha: str, caller: Caller) -> ActionResult:
    return ActionResult.of(ops.approve(config, name, sha, caller))


def rollback_repository(config: ReposConfig, name: str, sha: str, caller: Caller) -> ActionResult:
    return ActionResult.of(ops.rollback(config, name, sha, caller))


def package_status(environment: Environment, name: str) -> PackageSource:
    return release_ops.package_status(
        environment.store, environment.endpoint_url, environment.env, name
    )


def rollback_package(
    environment: Environment,
    config: ReposConfig | None,
    name: str,
    version: str,
    caller: Caller,
) -> ActionResult:
    """Point ``env/name`` at its earlier release ``version``, then ask Airflow to re-parse."""
    moved = release_ops.rollback_package(
        environment.store, environment.endpoint_url, environment.env, name, version, config,
        caller, environment.bundle,
    )  # fmt: skip
    return ActionResult.of_move(moved)
