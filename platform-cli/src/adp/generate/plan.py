"""What ``adp dags generate`` would change in the output folder, and writing it.

Invariant: a file is replaced or deleted only when its header says this spec generated it and
its digest says nobody edited it since (or when forced); a refusal anywhere means nothing is
written at all. Each file is written to a temporary name in the folder and renamed over the
old one, so a reader never sees half a file.
"""

from __future__ import annotations

import difflib
import enum
import os
from dataclasses import dataclass, field
from pathlib import Path

from adp import fsatomic
from adp.errors import Failure
from adp.generate.render import file_name, read_header, render
from adp.generate.spec import DagSpec


class Action(enum.StrEnum):
    create = "create"
    update = "update"
    unchanged = "unchanged"
    delete = "delete"  # generated from this spec earlier, for a job it no longer has


@dataclass(frozen=True)
class FileChange:
    path: Path
    action: Action
    text: str | None  # the new content (None: delete)
    old: str | None  # what the folder holds now (None: nothing)
    refusal: str | None = None  # why it must not be replaced or deleted without --force

    def diff(self) -> str:
        before = (self.old or "").splitlines(keepends=True)
        after = (self.text or "").splitlines(keepends=True)
        name = self.path.as_posix()
        return "".join(difflib.unified_diff(before, after, f"a/{name}", f"b/{name}"))


@dataclass
class Plan:
    out: Path
    changes: list[FileChange] = field(default_factory=list)

    @property
    def pending(self) -> list[FileChange]:
        """The changes that would write or delete a file."""
        return [c for c in self.changes if c.action is not Action.unchanged]

    @property
    def refused(self) -> list[FileChange]:
        return [c for c in self.changes if c.refusal]


class OverwriteRefused(Failure, RuntimeError):
    """Files that are not (or no longer) the generator's would be replaced or deleted."""

    def __init__(self, changes: list[FileChange]) -> None:
        self.changes = changes
        listed = "; ".join(f"{c.path}: {c.refusal}" for c in changes)
        super().__init__(
            f"{listed}. Nothing was written: move your edits into the spec (or rename the file), "
            "or pass --force to replace them"
        )


def spec_label(spec_path: Path, out: Path) -> str:
    """How the header names the spec: its path relative to the output folder, so the header
    does not depend on where the command runs."""
    return Path(os.path.relpath(spec_path.resolve(), out.resolve())).as_posix()


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        return ""  # not UTF-8: certainly not ours


def _refusal(old: str, label: str) -> str | None:
    header = read_header(old)
    if header is None:
        return "written by hand (no `adp dags generate` header)"
    if header.spec != label:
        return f"generated from another spec ({header.spec})"
    if header.edited:
        return "edited by hand since it was generated"
    return None


def plan(spec: DagSpec, spec_path: Path, out: Path) -> Plan:
    """Render every job of ``spec`` and compare with ``out``; reads, never writes."""
    label = spec_label(spec_path, out)
    result = Plan(out)
    wanted: set[str] = set()
    for job in spec.jobs:
        name = file_name(spec, job)
        wanted.add(name)
        target = out / name
        text = render(spec, job, label, target)
        old = _read(target)
        if old is None:
            result.changes.append(FileChange(target, Action.create, text, None))
        elif old == text:
            result.changes.append(FileChange(target, Action.unchanged, text, old))
        else:
            change = FileChange(target, Action.update, text, old, _refusal(old, label))
            result.changes.append(change)
    if out.is_dir():
        for path in sorted(out.glob("*.py")):
            if path.name in wanted or not path.is_file():
                continue
            old = _read(path) or ""
            header = read_header(old)
            if header is not None and header.spec == label:  # ours, for a job now gone
                refusal = "edited by hand since it was generated" if header.edited else None
                result.changes.append(FileChange(path, Action.delete, None, old, refusal))
    return result


def _write(path: Path, text: str) -> None:
    fsatomic.write_text(path, text, mode=0o644)


def apply(result: Plan, force: bool = False) -> list[FileChange]:
    """Write the plan (refusing, before any write, files that are not the generator's unless
    ``force``); returns the changes made."""
    if result.refused and not force:
        raise OverwriteRefused(result.refused)
    pending = result.pending
    if pending:
        result.out.mkdir(parents=True, exist_ok=True)
    for change in pending:
        if change.action is Action.delete:
            change.path.unlink(missing_ok=True)
        else:
            assert change.text is not None
            _write(change.path, change.text)
    return pending
