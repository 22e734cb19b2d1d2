"""What the MCP server's tools return: pydantic models, sent as structured content (and as
JSON text for clients that read only text). Names, commits, times and messages only: never a
credential's value."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from adp.errors import NextStep
from adp.operations import SourceFinding, SyncOutcome
from adp.operations.repos import PackageSource, RepositorySource
from adp.operations.results import OK, OUTCOME
from adp.operations.validate import FileValidation

# The tool that does each next step of the library (``NextStep.action``).
TOOLS = {"approve": "approve", "rollback": "rollback", "status": "source_status", "sync": "sync"}


def tool_call(step: NextStep) -> str:
    """``step`` as the tool call that does it: ``approve NAME SHA``, ``source_status NAME``,
    ``rollback NAME <sha>`` (the person picks the commit)."""
    words = [TOOLS[step.action], step.repository]
    if step.action in ("approve", "rollback"):
        words.append(step.commit or "<sha>")
    return " ".join(words)


def with_step(text: str, step: NextStep | None) -> str:
    """A sync's ``detail`` followed by its next step as a tool call."""
    return f"{text}: {tool_call(step)}" if step is not None else text


class SourceStatus(BaseModel):
    """One DAG source in detail (``kind`` git: a repository; package: a published package)."""

    source: Annotated[RepositorySource | PackageSource, Field(discriminator="kind")]


class SyncReport(BaseModel):
    """What one sync (or approval, or rollback) of a repository did."""

    repository: str
    outcome: str = Field(description=OUTCOME)
    ok: bool = Field(description=OK)
    commit: str | None = Field(default=None, description="The commit judged.")
    promoted: str | None = Field(default=None, description="The promoted commit now.")
    detail: str
    dag_ids: list[str] = Field(default_factory=list, description="DAG ids of the commit.")
    findings: list[SourceFinding] = Field(default_factory=list)
    reparse: str | None = Field(default=None, description="What the running Airflow answered.")

    @classmethod
    def of(cls, result: SyncOutcome) -> SyncReport:
        return cls(
            repository=result.repository,
            outcome=result.outcome,
            ok=result.ok,
            commit=result.commit,
            promoted=result.promoted,
            detail=with_step(result.detail, result.next_step),
            dag_ids=result.dag_ids,
            findings=result.findings,
            reparse=result.reparse,
        )


class WebhookSetup(BaseModel):
    """How to make pushes reach the platform at once (polling is the fallback)."""

    configured: bool = Field(description="The entry has a webhook (provider and secret).")
    provider: str | None = None
    receiver_path: str = Field(description="The receiver's endpoint: POST /hooks/<name>.")
    receiver_url: str = Field(description="The URL to give the provider.")
    secret_from: str | None = Field(
        default=None, description="Where the receiver reads the shared secret (name only)."
    )
    steps: list[str]


class AddReport(BaseModel):
    """A repository added to airflow-repos.yaml, and its first sync."""

    repository: str
    namespace: str
    env: str
    config: str = Field(description="The airflow-repos.yaml written.")
    entry: dict[str, Any] = Field(description="The entry written (names of credentials only).")
    sync: SyncReport | None = Field(default=None, description="The initial sync (None: skipped).")
    dag_ids: list[str] = Field(default_factory=list, description="The DAGs found.")
    findings: list[SourceFinding] = Field(default_factory=list)
    webhook: WebhookSetup
    next_steps: list[str] = Field(default_factory=list)


class Confirmation(BaseModel):
    """Fields every destructive tool returns: unconfirmed, it changes nothing and says what it
    would do and how to confirm."""

    confirmed: bool = Field(description="The change was confirmed (confirm=true, or the user).")
    changed: bool = Field(description="Something was changed.")
    summary: str = Field(description="What it does, or would do.")
    how_to_confirm: str | None = Field(
        default=None, description="When nothing was changed: how to go ahead."
    )


class RemovalReport(Confirmation):
    repository: str
    namespace: str
    env: str
    previous_release: str | None = Field(
        default=None, description="The release the namespace pointed at (it stays stored)."
    )
    reparse: str | None = None


class DecisionReport(Confirmation):
    action: Literal["approve", "rollback"]
    repository: str
    commit: str
    result: SyncReport | None = None


class ValidationReport(FileValidation):
    """The findings of one DAG file, as ``adp dags validate`` reports them."""
