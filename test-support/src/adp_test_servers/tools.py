"""The project's own command-line tools, found where the project installed them.

A test that looks a tool up on PATH passes on a machine that happens to have another copy
and fails (or skips) on a fresh one. `scripts/dev-env` installs every tool the tests run
(ruff, copier, uv, adp, airflow, pytest) into `.venv`, the environment the tests run in,
so they are found next to the running interpreter and nowhere else.
"""

from __future__ import annotations

import sys
from pathlib import Path


def project_tool(name: str) -> str:
    """The path of `name` in the running interpreter's environment (the project's .venv).

    Fails, naming the folder and the fix, when it is not installed there.
    """
    path = Path(sys.executable).parent / name  # not resolved: a venv's python is a symlink
    if not path.is_file():
        raise AssertionError(
            f"{name} is not installed in {path.parent} (the environment the tests run in); "
            "run `make dev-env` to install the project's tools"
        )
    return str(path)
