"""Finding the files to validate and reading them safely.

Invariant: nothing outside the given roots is ever opened. A directory is walked without
following links; a link whose target lies outside every root, a binary, oversized, unreadable or
non-UTF-8 file becomes a finding and is not read further. Directories given are walked for
``*.py``; files given explicitly are validated whatever their name. Files that an
``.airflowignore`` excludes are still scanned, but are not DAG files (Airflow never parses them).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from adp.validation.airflowignore import AirflowIgnore
from adp.validation.findings import Finding
from adp.validation.rules import new_finding

SKIPPED_DIRS = {"__pycache__", ".git", ".venv", "node_modules", ".ruff_cache", ".pytest_cache"}


@dataclass
class Source:
    """A readable Python source file inside ``root``."""

    path: Path  # the file as found (a link stays a link)
    real: Path  # what it resolves to (inside some root)
    root: Path  # the root it was found under
    display: str  # how findings name it
    relative: str  # path relative to root (what a release stores)
    text: str = ""
    lines: list[str] = field(default_factory=list)
    airflow_ignored: bool = False  # .airflowignore excludes it: Airflow never parses it

    @cached_property
    def in_package(self) -> bool:
        """True for a module of a Python package (a folder with __init__.py below the root): a
        helper module, not a DAG file."""
        parent = self.path.parent
        while parent != self.root and self.root in parent.parents:
            if (parent / "__init__.py").exists():
                return True
            parent = parent.parent
        return False

    @property
    def might_contain_dag(self) -> bool:
        """Airflow's safe-mode heuristic: the dag-processor imports only such files."""
        lowered = self.text.lower()
        return "airflow" in lowered and "dag" in lowered

    def line_text(self, line: int) -> str:
        return self.lines[line - 1] if 0 < line <= len(self.lines) else ""


def _finding(rule_id: str, display: str, message: str, line: int = 0) -> Finding:
    return new_finding(rule_id, display, message, line, column=0)


def _display(given: str, root: Path, path: Path) -> str:
    if path == root:
        return given
    rel = path.relative_to(root).as_posix()
    return rel if given in (".", "") else f"{given.rstrip('/')}/{rel}"


def _inside(real: Path, roots: Iterable[Path]) -> bool:
    return any(real == root or root in real.parents for root in roots)


def collect(
    paths: Sequence[str | Path], max_file_bytes: int
) -> tuple[list[Source], list[Finding], list[Path]]:
    """Sources, reading findings and the resolved roots of ``paths``."""
    findings: list[Finding] = []
    sources: list[Source] = []
    entries: list[tuple[str, Path, Path]] = []  # (given, root, file)
    roots: list[Path] = []
    for given in paths:
        given_str = str(given)
        path = Path(given_str).absolute()
        if not path.exists() and not path.is_symlink():
            findings.append(_finding("ADP006", given_str, f"{given_str} does not exist"))
            continue
        if path.is_dir() and not path.is_symlink():
            root = path.resolve()
            roots.append(root)
            for file in _walk(root, findings, given_str):
                entries.append((given_str, root, file))
        else:
            root = path.parent.resolve()
            roots.append(root)
            entries.append((given_str, root, root / path.name))
    seen: set[Path] = set()
    ignores: dict[Path, AirflowIgnore] = {}
    for given, root, file in entries:
        display = given if file.parent == root and Path(given).name == file.name else None
        display = display or _display(given, root, file)
        source = _read(file, root, display, roots, max_file_bytes, findings)
        if source is not None and source.real not in seen:
            seen.add(source.real)
            if Path(given).absolute().is_dir():
                ignore = ignores.setdefault(root, AirflowIgnore(root))
                source.airflow_ignored = ignore.ignored(file)
            sources.append(source)
    return sources, findings, roots


def _walk(root: Path, findings: list[Finding], given: str) -> Iterable[Path]:
    def on_error(error: OSError) -> None:
        where = Path(error.filename) if error.filename else root
        findings.append(
            _finding(
                "ADP001", _display(given, root, where), f"cannot list {where}: {error.strerror}"
            )
        )

    for folder, dirs, files in os.walk(root, onerror=on_error, followlinks=False):
        here = Path(folder)
        kept = []
        for name in sorted(dirs):
            if name in SKIPPED_DIRS:
                continue
            if (here / name).is_symlink():
                target = (here / name).resolve()
                if not _inside(target, [root]):
                    findings.append(
                        _finding(
                            "ADP005",
                            _display(given, root, here / name),
                            f"the folder link points to {target}, outside {root}; not followed",
                        )
                    )
                continue  # inside the root: its files are validated where they really are
            kept.append(name)
        dirs[:] = kept
        for name in sorted(files):
            if name.endswith(".py"):
                yield here / name


def _read(
    file: Path,
    root: Path,
    display: str,
    roots: list[Path],
    max_file_bytes: int,
    findings: list[Finding],
) -> Source | None:
    try:
        real = file.resolve(strict=True)
    except (OSError, RuntimeError) as error:
        findings.append(_finding("ADP005", display, f"the link cannot be resolved ({error})"))
        return None
    if not _inside(real, roots):
        findings.append(
            _finding("ADP005", display, f"links to {real}, outside the validated folders; not read")
        )
        return None
    try:
        info = os.stat(real)
    except OSError as error:
        findings.append(_finding("ADP001", display, f"cannot read it: {error.strerror}"))
        return None
    if not stat.S_ISREG(info.st_mode):
        findings.append(
            _finding("ADP001", display, "not a regular file (a FIFO, socket or device)")
        )
        return None
    if info.st_size > max_file_bytes:
        findings.append(
            _finding(
                "ADP003",
                display,
                f"{info.st_size} bytes, more than the limit of {max_file_bytes}; not read",
            )
        )
        return None
    try:
        with open(real, "rb") as handle:
            data = handle.read(max_file_bytes + 1)
    except OSError as error:
        findings.append(_finding("ADP001", display, f"cannot read it: {error.strerror}"))
        return None
    if b"\0" in data:
        findings.append(_finding("ADP002", display, "holds NUL bytes: binary data, not source"))
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        findings.append(
            _finding(
                "ADP004",
                display,
                f"byte 0x{data[error.start]:02x} at line {line} is not UTF-8",
                line=line,
            )
        )
        return None
    relative = real.relative_to(root).as_posix() if root in real.parents else file.name
    return Source(
        path=file,
        real=real,
        root=root,
        display=display,
        relative=relative,
        text=text,
        lines=text.splitlines(),
    )
