"""Adding and removing an entry of ``airflow-repos.yaml`` as text, so that everything else in
the file (comments, order, quoting) stays as written. The new text is validated whole before it
replaces the file (atomically); a change that would make the file invalid writes nothing."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

from adp.repos.config import ReposConfigError, parse
from adp.repos.yaml_lines import load, node_span

HEADER = """\
# airflow-repos.yaml: the git repositories this environment takes DAGs from.
# adp repos add|remove edit it; docs/how-to/git-repositories.md explains every field.
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


def with_entry(text: str, entry: dict[str, Any], source: str) -> str:
    """``text`` with ``entry`` appended to ``repositories``."""
    data, _ = load(text, source)
    lines = text.splitlines()
    repos = data.get("repositories") if isinstance(data, dict) else None
    key_span = node_span(text, ("repositories",))
    if repos and key_span is not None:  # a block list with items: append after the last one
        first, end = key_span
        dash = lines[first].index("-") if "-" in lines[first] else 2
        return "\n".join([*lines[:end], *_entry_lines(entry, dash), *lines[end:]]) + "\n"
    # absent, null or an empty list: the key is written again with the one entry
    kept = [line for line in lines if not line.startswith("repositories:")]
    while kept and not kept[-1].strip():
        kept.pop()
    return "\n".join([*kept, "repositories:", *_entry_lines(entry, 2)]) + "\n"


def without_entry(text: str, index: int) -> str:
    """``text`` without the ``index``-th entry of ``repositories``."""
    span = node_span(text, ("repositories", index))
    if span is None:
        raise ReposConfigError([f"repositories[{index}] is not in the file"])
    lines = text.splitlines()
    first, end = span
    remaining = [*lines[:first], *lines[end:]]
    data, _ = load("\n".join(remaining) + "\n", "the edited file")
    if isinstance(data, dict) and data.get("repositories") is None:
        remaining = [line if line != "repositories:" else "repositories: []" for line in remaining]
    return "\n".join(remaining) + "\n"


def write_checked(path: Path, text: str) -> None:
    """Validate ``text`` as the file at ``path``, then replace the file atomically."""
    parse(text, str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        if path.exists():
            os.chmod(temp, path.stat().st_mode & 0o777)
        else:
            os.chmod(temp, 0o644)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
