"""What the operations return: pydantic models saying whether an action succeeded, what it
changed and the re-parse it asked Airflow for. Invariant: a front end renders these and never
decides anything from them that the model does not state (``ok`` is the one verdict of a sync,
approval or rollback; no front end keeps its own set of failing outcomes)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from adp.bundles.reparse import Reparse as _Reparse
from adp.errors import NextStep
from adp.repos.promote import SyncResult
from adp.sources import SourceFinding


class Reparse(BaseModel):
    """The re-parse an operation asked the running Airflow for, and what Airflow answered."""

    bundle: str
    airflow_url: str
    outcome: Literal["requested", "no-dag-yet", "failed"]
    detail: str

    @classmethod
    def of(cls, asked: _Reparse | None, bundle: str, airflow_url: str | None) -> Reparse | None:
        if asked is None or not airflow_url:
            return None
        return cls(bundle=bundle, airflow_url=airflow_url, outcome=asked.outcome,
                   detail=asked.detail)  # fmt: skip


# What a sync's outcome can be and which ones fail: written once, for every front end's schema.
OUTCOME = (
    "promoted, unchanged, pending (passed, awaiting approval), refused (findings), rewritten "
    "(force-push: awaiting approval), unreachable, failed, approved or rolled-back."
)
OK = "False for refused, rewritten, unreachable and failed."


class SyncOutcome(BaseModel):
    """What one sync, approval or rollback of a git repository did."""

    action: Literal["sync", "approve", "rollback"]
    repository: str
    outcome: str = Field(description=OUTCOME)
    ok: bool = Field(description=OK)
    changed: bool = Field(description="The promoted commit (what Airflow runs) moved.")
    commit: str | None = None
    promoted: str | None = None
    detail: str
    dag_ids: list[str] = Field(default_factory=list)
    findings: list[SourceFinding] = Field(default_factory=list)
    reparse: str | None = Field(default=None, description="What the running Airflow answered.")
    next_step: NextStep | None = Field(
        default=None, description="What a person does next (approve the commit), as data."
    )

    @classmethod
    def of(cls, action: Literal["sync", "approve", "rollback"], result: SyncResult) -> SyncOutcome:
        return cls(
            action=action,
            repository=result.repository,
            outcome=result.outcome,
            ok=result.ok,
            changed=result.moved,
            commit=result.commit,
            promoted=result.promoted,
            detail=result.detail,
            dag_ids=list(result.dags),
            findings=[SourceFinding.of_note(f) for f in result.findings],
            reparse=result.reparse,
            next_step=result.next_step,
        )


class Decision(BaseModel):
    """What an approval or a rollback would do, checked and nothing changed: for a front end
    that asks the person first. ``moves`` False: nothing to do."""

    model_config = ConfigDict(frozen=True)

    action: Literal["approve", "rollback"]
    repository: str
    commit: str
    env: str
    namespace: str
    subject: str = ""
    promoted: str | None = None
    moves: bool = True


class Removal(BaseModel):
    """Removing a repository: ``env/namespace`` leaves the environment; ``release`` is the
    release it pointed at. ``changed`` False: only checked (nothing was changed)."""

    repository: str
    env: str
    namespace: str
    config: str
    changed: bool = False
    release: str | None = None
    reparse: str | None = None


class Addition(BaseModel):
    """A repository added to ``config`` (and its first sync when one was asked for)."""

    repository: str
    namespace: str
    env: str
    config: str
    sync: SyncOutcome | None = None


class PointerMove(BaseModel):
    """A package's release pointer: ``previous`` -> ``version`` (``changed`` False: it ran
    ``version`` already)."""

    env: str
    package: str
    store: str
    previous: str | None
    version: str
    changed: bool
    dag_ids: list[str] = Field(default_factory=list)
    reparse: Reparse | None = None
