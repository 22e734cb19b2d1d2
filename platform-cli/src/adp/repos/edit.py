"""Adding and removing an entry of ``airflow-repos.yaml`` as text, so that everything else in
the file (comments, order, quoting) stays as written. The new text is validated whole before it
replaces the file (atomically); a change that would make the file invalid writes nothing."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from adp import fsatomic
from adp.repos.config import ReposConfigError, parse
from adp.yaml_lines import YamlError, is_block_sequence, load, node_span

REPOSITORIES_LINE = re.compile(r"^repositories:\s*(\[\s*\])?\s*(#.*)?$")

HEADER = """\
# airflow-repos.yaml: the git repositories this environment takes DAGs from.
# adp repos add|remove edit it; docs/git-repositories.md explains every field.
# Credentials are never written here: name the environment variable or file that holds them.
"""


def new_file(bucket: str, env: str, endpoint_url: str | None = None) -> str:
    store: dict[str, Any] = {"bucket": bucket, "env": env}
    if endpoint_url:
        store["endpoint_url"] = endpoint_url
    body = yaml.safe_dump({"release_store": store}, sort_keys=False)
    return f"{HEADER}{body}repositories: []\n"


def _entry_lines(entry: dict[str, Any], indent: int) -> list[str]:
    block = yaml.safe_dump([entry], sort_keys=False, indent=2, default_flow_style=False)
    return [" " * indent + line for line in block.splitlines()]


def _load(text: str, source: str) -> Any:
    try:
        return load(text, source)[0]
    except YamlError as error:
        raise ReposConfigError([str(error)]) from None


def _names(text: str, source: str) -> list[str | None]:
    data = _load(text, source)
    repos = data.get("repositories") if isinstance(data, dict) else None
    return [r.get("name") for r in repos or [] if isinstance(r, dict)]


def _editable(text: str, source: str) -> None:
    data = _load(text, source)
    repos = data.get("repositories") if isinstance(data, dict) else None
    if repos and not is_block_sequence(text, ("repositories",)):
        raise ReposConfigError(
            [f"{source}: repositories is written as a [...] list on one line; write one "
             "'- name: ...' entry per line to let adp repos edit it, or edit it by hand"]
        )  # fmt: skip


def with_entry(text: str, entry: dict[str, Any], source: str) -> str:
    """``text`` with ``entry`` appended to ``repositories``."""
    _editable(text, source)
    data = _load(text, source)
    lines = text.splitlines()
    repos = data.get("repositories") if isinstance(data, dict) else None
    key_span = node_span(text, ("repositories",))
    if repos and key_span is not None:  # a block list with items: append after the last one
        first, end = key_span
        dash = lines[first].index("-") if "-" in lines[first] else 2
        return "\n".join([*lines[:end], *_entry_lines(entry, dash), *lines[end:]]) + "\n"
    # absent, null or an empty list: the key is written again with the one entry
    kept = [line for line in lines if not REPOSITORIES_LINE.fullmatch(line)]
    while kept and not kept[-1].strip():
        kept.pop()
    return "\n".join([*kept, "repositories:", *_entry_lines(entry, 2)]) + "\n"


def without_entry(text: str, index: int, source: str = "airflow-repos.yaml") -> str:
    """``text`` without the ``index``-th entry of ``repositories``; refused (nothing changed)
    unless exactly that entry is gone afterwards."""
    _editable(text, source)
    before = _names(text, source)
    span = node_span(text, ("repositories", index))
    if span is None:
        raise ReposConfigError([f"repositories[{index}] is not in the file"])
    lines = text.splitlines()
    first, end = span
    remaining = [*lines[:first], *lines[end:]]
    data = _load("\n".join(remaining) + "\n", source)
    if isinstance(data, dict) and data.get("repositories") is None:
        remaining = [
            REPOSITORIES_LINE.sub(
                lambda m: "repositories: []" + (f"  {m[2]}" if m[2] else ""), line
            )
            for line in remaining
        ]
    result = "\n".join(remaining) + "\n"
    after = _names(result, source)
    if after != before[:index] + before[index + 1 :]:
        raise ReposConfigError(
            [f"{source}: removing {before[index]!r} would change other entries; edit the file "
             "by hand"]
        )  # fmt: skip
    return result


def check(text: str, path: Path) -> None:
    """``text`` is a valid airflow-repos.yaml (``ReposConfigError`` otherwise)."""
    parse(text, str(path))


def write_checked(path: Path, text: str) -> None:
    """Validate ``text`` as the file at ``path``, then replace the file atomically."""
    check(text, path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fsatomic.write_text(path, text, mode=mode)
