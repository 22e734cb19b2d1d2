"""What the promoter knows of each repository, kept in its state folder.

``<state>/repos/<name>.json`` (the promoted commit, the last sync and its outcome, commits
waiting for approval or refused, with their findings), written atomically; ``<state>/audit.jsonl``,
one line per promotion, refusal, approval, rollback, addition and removal (who, which commit,
which findings), appended under a lock; ``locked(name)`` keeps one sync of a repository at a time
across processes (the CLI and the webhook receiver).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from adp import fsatomic
from adp.validation import Finding

Outcome = Literal[
    "promoted",
    "unchanged",
    "pending",
    "refused",
    "rewritten",
    "unreachable",
    "failed",
    "approved",
    "rolled-back",
]


def now() -> datetime:
    return datetime.now(UTC)


# A reason written before the next step was data ended with the CLI's command; it is now the
# result's ``next_step``, which each front end words itself. Read only, never written.
LEGACY_COMMAND = re.compile(r": adp repos approve \S+ [0-9a-f]{40}$")


def without_legacy_command(reason: str) -> str:
    """``reason`` as it is written now: without the command an older state file ends it with."""
    return LEGACY_COMMAND.sub("", reason)


class FindingNote(BaseModel):
    """A finding as status and audit keep it: rule, place, message (never a secret's value:
    the validation library's messages name the kind of secret, not its text)."""

    rule: str
    severity: str
    location: str
    message: str

    @classmethod
    def of(cls, finding: Finding, root: str = "") -> FindingNote:
        location = finding.location()
        if root and location.startswith(root):
            location = location[len(root) :].lstrip("/")
        return cls(
            rule=finding.rule,
            severity=str(finding.severity),
            location=location,
            message=finding.message,
        )


class CommitNote(BaseModel):
    sha: str
    subject: str = ""
    seen_at: datetime = Field(default_factory=now)
    reason: str
    findings: list[FindingNote] = Field(default_factory=list)
    dags: list[str] = Field(default_factory=list)  # the DAG ids it defines (when it passed)
    # refused because the branch's history was rewritten (a force-push), not for its content:
    # the one refusal a person may approve
    rewritten: bool = False

    @model_validator(mode="before")
    @classmethod
    def _legacy_rewritten(cls, data: Any) -> Any:
        """A state file written before ``rewritten`` existed said so only in its reason; one
        written before the next step was data ended its reason with the CLI's command."""
        if isinstance(data, dict) and isinstance(data.get("reason"), str):
            reason = data["reason"]
            data = {**data, "reason": without_legacy_command(reason)}
            if "rewritten" not in data and reason.startswith("history rewritten"):
                data["rewritten"] = True
        return data


class RepoState(BaseModel):
    name: str
    promoted: str | None = None
    promoted_at: datetime | None = None
    upstream: str | None = None
    held_upstream: str | None = None  # after a rollback: the upstream commit not to promote
    last_sync_at: datetime | None = None
    last_outcome: Outcome | None = None
    last_error: str | None = None
    pending: list[CommitNote] = Field(default_factory=list)
    refused: list[CommitNote] = Field(default_factory=list)
    history: list[str] = Field(default_factory=list)  # promoted commits, oldest first

    def note(self, kind: Literal["pending", "refused"], entry: CommitNote, keep: int = 20) -> None:
        notes = [n for n in getattr(self, kind) if n.sha != entry.sha] + [entry]
        setattr(self, kind, notes[-keep:])

    def forget(self, sha: str) -> None:
        self.pending = [n for n in self.pending if n.sha != sha]
        self.refused = [n for n in self.refused if n.sha != sha]


class StateDir:
    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def mirrors(self) -> Path:
        return self.root / "mirrors"

    @property
    def work(self) -> Path:
        return self.root / "work"

    @property
    def audit_file(self) -> Path:
        return self.root / "audit.jsonl"

    def _state_file(self, name: str) -> Path:
        return self.root / "repos" / f"{name}.json"

    def load(self, name: str) -> RepoState:
        path = self._state_file(name)
        try:
            return RepoState.model_validate_json(path.read_bytes())
        except FileNotFoundError:
            return RepoState(name=name)
        except ValueError as error:
            raise RuntimeError(
                f"{path}: damaged state ({error}); move it away to start over"
            ) from None

    def save(self, state: RepoState) -> None:
        path = self._state_file(state.name)
        path.parent.mkdir(parents=True, exist_ok=True)
        fsatomic.write_text(
            path, state.model_dump_json(indent=2) + "\n", mode=0o600, temp_prefix=".state-"
        )

    def set_aside(self, name: str) -> None:
        """Keep a removed repository's state for the record, out of the way of a new one."""
        path = self._state_file(name)
        if path.is_file():
            os.replace(path, path.with_name(f"{name}.removed-{now():%Y%m%dT%H%M%S%fZ}.json"))

    def exists(self, name: str) -> bool:
        return self._state_file(name).is_file()

    @contextlib.contextmanager
    def locked(self, name: str) -> Iterator[None]:
        """One holder per repository at a time, across processes (waits for the other)."""
        folder = self.root / "locks"
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / f"{name}.lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def audit(
        self,
        action: str,
        repo: str,
        actor: str,
        commit: str | None = None,
        findings: list[FindingNote] | None = None,
        detail: str = "",
    ) -> None:
        entry = {
            "at": now().isoformat(),
            "action": action,
            "repository": repo,
            "actor": actor,
            "commit": commit,
            "findings": [f.model_dump() for f in findings or []],
            "detail": detail,
        }
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.audit_file, "a", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            handle.write(json.dumps(entry, sort_keys=True) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
            fcntl.flock(handle, fcntl.LOCK_UN)

    def audit_entries(self, repo: str | None = None) -> list[dict[str, Any]]:
        try:
            lines = self.audit_file.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        entries = []
        for line in lines:
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # a line cut short by a crash: the others are whole
            if isinstance(entry, dict) and (repo is None or entry.get("repository") == repo):
                entries.append(entry)
        return entries
