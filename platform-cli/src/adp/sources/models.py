"""The DAG sources as data: what ``adp.sources`` returns to the CLI, the MCP server and the UI.

Every model holds names, commits, times and messages only: URLs are redacted, a credential is
named by the variable or file that holds it, never read.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from adp.repos.state import FindingNote
from adp.validation import RULES, Finding

LOCATION_RE = re.compile(r"^(?P<file>.*?)(?::(?P<line>[0-9]+)(?::(?P<column>[0-9]+))?)?$")


class SourceFinding(BaseModel):
    """One validation finding: a stable rule id, where (file:line), what and how to fix it."""

    rule: str = Field(description="The rule id (adp dags rules lists them).")
    severity: str = Field(description="error or warning.")
    file: str = Field(description="The file, relative to the validated folder.")
    line: int = Field(default=0, description="1-based; 0: the whole file.")
    column: int = 0
    location: str = Field(description="file:line:column, as adp dags validate prints it.")
    message: str
    fix: str | None = None

    @classmethod
    def of_note(cls, note: FindingNote) -> SourceFinding:
        """A finding as the promoter's state keeps it (``location`` = ``file:line:column``)."""
        match = LOCATION_RE.fullmatch(note.location)
        assert match is not None  # the pattern matches every string
        rule = RULES.get(note.rule)
        return cls(
            rule=note.rule,
            severity=note.severity,
            file=match["file"],
            line=int(match["line"] or 0),
            column=int(match["column"] or 0),
            location=note.location,
            message=note.message,
            fix=rule.fix if rule else None,
        )

    @classmethod
    def of_finding(cls, finding: Finding, root: str = "", shown: str = "") -> SourceFinding:
        """A finding of a validation report; its path under ``root`` shown as ``shown`` (or
        relative to ``root``)."""
        path = finding.path
        if root and path.startswith(root):
            path = path[len(root) :].lstrip("/")
        if shown:
            path = f"{shown}/{path}".rstrip("/") if path else shown
        location = path if not finding.line else f"{path}:{finding.line}:{max(finding.column, 1)}"
        return cls(
            rule=finding.rule,
            severity=str(finding.severity),
            file=path,
            line=finding.line,
            column=finding.column,
            location=location,
            message=finding.message,
            fix=finding.fix or None,
        )


class CommitInfo(BaseModel):
    """A commit the promoter did not promote: waiting for approval, or refused."""

    sha: str
    subject: str = ""
    seen_at: datetime
    reason: str = Field(description="Why it waits or was refused, and what to do.")
    findings: list[SourceFinding] = Field(default_factory=list)
    dags: list[str] = Field(default_factory=list, description="Its DAG ids (when it passed).")


class ReleaseInfo(BaseModel):
    """One release of a package in the release store (immutable once written)."""

    version: str
    published_at: datetime | None = None
    published_by: str | None = None
    git_sha: str | None = None
    image_tag: str | None = None
    files: int | None = None
    dag_ids: list[str] = Field(default_factory=list)
    problem: str | None = Field(default=None, description="Why it cannot be used, if so.")


class PackageSource(BaseModel):
    """A package published to the release store (``adp dags publish``, CI)."""

    kind: Literal["package"] = "package"
    name: str = Field(description="The package: its DAG ids start with <name>_.")
    env: str
    current_version: str | None = Field(description="The release Airflow runs (None: none).")
    published_at: datetime | None = None
    published_by: str | None = None
    git_sha: str | None = None
    image_tag: str | None = None
    dag_ids: list[str] = Field(default_factory=list, description="DAG ids of the current release.")
    pointer_action: str | None = Field(default=None, description="publish or rollback.")
    pointer_updated_at: datetime | None = None
    pointer_updated_by: str | None = None
    previous_version: str | None = None
    release_count: int = 0
    problem: str | None = None
    releases: list[ReleaseInfo] = Field(
        default_factory=list, description="Every release, oldest first (source_status only)."
    )


class WebhookInfo(BaseModel):
    """How pushes reach the receiver (``adp repos serve``): the provider, the endpoint path,
    and where the receiver reads the shared secret (by name only)."""

    provider: str
    receiver_path: str = Field(description="POST <receiver>/hooks/<name>.")
    secret_from: str = Field(description="The variable or file holding the shared secret.")


class AuditInfo(BaseModel):
    at: str
    action: str
    actor: str
    commit: str | None = None
    detail: str = ""
    findings: int = 0


class RepositorySource(BaseModel):
    """A git repository of ``airflow-repos.yaml``: validated, scanned, then promoted."""

    kind: Literal["git"] = "git"
    name: str
    namespace: str = Field(description="The package its releases are published as.")
    env: str
    url: str = Field(description="The repository's URL (any credential in it replaced).")
    branch: str
    path: str = ""
    auth_type: str
    credential_from: str | None = Field(
        default=None, description="The variable or file holding its credential (never its value)."
    )
    auto_deploy: bool
    sync_interval_seconds: float
    promoted: str | None = Field(default=None, description="The promoted commit.")
    promoted_at: datetime | None = None
    release_current: str | None = Field(
        default=None, description="The release the store points at: what Airflow runs."
    )
    upstream: str | None = Field(default=None, description="The branch's commit seen last.")
    pending: list[CommitInfo] = Field(default_factory=list, description="Awaiting approval.")
    refused: list[CommitInfo] = Field(default_factory=list)
    last_sync_at: datetime | None = None
    last_sync_age: str = Field(default="never", description="e.g. '5m ago'.")
    last_sync_age_seconds: float | None = None
    last_outcome: str | None = None
    last_error: str | None = None
    findings: list[SourceFinding] = Field(
        default_factory=list,
        description="Findings of the last commit seen, when it waits or was refused.",
    )
    dag_ids: list[str] = Field(default_factory=list, description="DAG ids of the running release.")
    release_count: int | None = None
    releases: list[ReleaseInfo] = Field(
        default_factory=list,
        description="Its namespace's releases, oldest first, each named after its commit "
        "(source_status only): the commits it can be rolled back to.",
    )
    webhook: WebhookInfo | None = None
    problem: str | None = Field(default=None, description="The release store could not be read.")
    audit: list[AuditInfo] = Field(
        default_factory=list, description="The latest audit entries (source_status only)."
    )


class SourcesReport(BaseModel):
    """Every DAG source of one environment."""

    env: str | None = None
    store: str | None = Field(default=None, description="The release store.")
    config: str | None = Field(default=None, description="The airflow-repos.yaml read.")
    repositories: list[RepositorySource] = Field(default_factory=list)
    packages: list[PackageSource] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
