"""Which files the dag-processor skips: ``.airflowignore`` files, read as Airflow 3 reads them.

Airflow's default syntax (``dag_ignore_file_syntax = glob``) is gitignore's: patterns accumulate
from a folder to its sub-folders, a pattern with a slash is relative to the folder of its
``.airflowignore``, one without matches the name at any depth, a trailing slash matches only
folders, ``!`` re-includes, and the last matching pattern wins; ``#`` starts a comment. The
matching itself is pathspec's gitignore pattern (Airflow uses its deprecated twin). Unlike
Airflow's walker, this never follows a link: nothing outside the root is read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pathspec.patterns.gitignore.spec import GitIgnoreSpecPattern

IGNORE_FILE = ".airflowignore"


@dataclass(frozen=True)
class _Rule:
    pattern: GitIgnoreSpecPattern
    relative_to: Path | None
    dir_only: bool


def _compile(line: str, definition: Path) -> _Rule | None:
    pattern = re.sub(r"\s*#.*", "", line)
    if not pattern or pattern.strip() == "/":
        return None
    relative_to = (
        definition.parent if pattern.startswith("/") or "/" in pattern.rstrip("/") else None
    )
    raw = pattern.lstrip("!")
    dir_only = raw.rstrip() != raw.rstrip().rstrip("/")
    return _Rule(GitIgnoreSpecPattern(pattern), relative_to, dir_only)


def _matches(path: Path, is_dir: bool, rules: list[_Rule]) -> bool:
    matched = False
    for rule in rules:
        if rule.dir_only and not is_dir:
            continue
        relative = path.relative_to(rule.relative_to) if rule.relative_to else Path(path.name)
        text = f"{relative.as_posix()}/" if is_dir else relative.as_posix()
        if rule.pattern.include is not None and rule.pattern.match_file(text) is not None:
            matched = rule.pattern.include
    return matched


class AirflowIgnore:
    """The ignore rules of one root, folder by folder (rules are read once per folder)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._rules: dict[Path, list[_Rule]] = {}

    def rules_for(self, folder: Path) -> list[_Rule]:
        """Rules in force inside ``folder`` (its parents' and its own ``.airflowignore``)."""
        if folder in self._rules:
            return self._rules[folder]
        inherited = [] if folder == self.root else list(self.rules_for(folder.parent))
        ignore_file = folder / IGNORE_FILE
        if ignore_file.is_file() and not ignore_file.is_symlink():
            text = ignore_file.read_text(encoding="utf-8", errors="replace")
            inherited += [
                r for r in (_compile(line, ignore_file) for line in text.split("\n")) if r
            ]
        self._rules[folder] = inherited
        return inherited

    def ignored(self, path: Path) -> bool:
        """True when Airflow would not parse ``path`` (a file or folder under the root)."""
        if path == self.root or self.root not in path.parents:
            return False
        if self.ignored(path.parent):
            return True
        return _matches(path, path.is_dir(), self.rules_for(path.parent))
