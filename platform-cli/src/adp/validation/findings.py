"""What a validation run produces: findings, the DAGs it saw, and the exit decision."""

from __future__ import annotations

import enum
import hashlib
from pathlib import Path

from pydantic import BaseModel, Field


class Severity(enum.StrEnum):
    error = "error"
    warning = "warning"

    @property
    def rank(self) -> int:
        return 2 if self is Severity.error else 1


class Suppression(BaseModel):
    """Why a finding does not count: an inline comment or a baseline entry, with its reason."""

    kind: str  # "inline" or "baseline"
    reason: str


class Finding(BaseModel):
    """One problem at one place. ``path`` names the file as the caller gave it (the folder given,
    joined with the file's path under it); ``line``/``column`` are 1-based (0: the whole file)."""

    rule: str
    severity: Severity
    path: str
    line: int = 0
    column: int = 0
    message: str
    fix: str
    tool: str = "adp"
    fingerprint: str = ""
    suppressed: Suppression | None = None

    def location(self) -> str:
        if self.line:
            return f"{self.path}:{self.line}:{max(self.column, 1)}"
        return self.path


def fingerprint(rule: str, path: str, line_text: str) -> str:
    """Stable identity of a finding: rule, file and the text of its line, not its line number,
    so that a baseline survives code moving up or down."""
    text = " ".join(line_text.split())
    return hashlib.sha256(f"{rule}\0{path}\0{text}".encode()).hexdigest()[:16]


class DagInfo(BaseModel):
    """A DAG that a file defined when it was imported."""

    dag_id: str
    path: str
    line: int = 0


class Report(BaseModel):
    """Everything one run found. ``dags`` is what the publisher records in a release manifest."""

    package: str | None = None
    roots: list[str] = Field(default_factory=list)
    files: list[str] = Field(default_factory=list)
    dags: list[DagInfo] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)

    def active(self) -> list[Finding]:
        """Findings that count (not suppressed)."""
        return [f for f in self.findings if f.suppressed is None]

    def failing(self, fail_on: Severity) -> list[Finding]:
        return [f for f in self.active() if f.severity.rank >= fail_on.rank]

    def exit_code(self, fail_on: Severity = Severity.error) -> int:
        """0 when nothing at or above ``fail_on`` is left, else 1."""
        return 1 if self.failing(fail_on) else 0

    def counts(self) -> dict[str, int]:
        active = self.active()
        return {
            "error": sum(f.severity is Severity.error for f in active),
            "warning": sum(f.severity is Severity.warning for f in active),
            "suppressed": len(self.findings) - len(active),
        }


def relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()
