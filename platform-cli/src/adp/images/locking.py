"""Lock a runtime's Python dependencies: pyproject.toml -> requirements.lock (uv, with hashes).

Why a requirements.lock from `uv pip compile` rather than `uv.lock`: the image installs it
with `uv pip sync --require-hashes` from whatever index PACKAGE_INDEX_URL names (a corporate
mirror), while `uv.lock` records pypi.org download URLs. Hashes still pin every file.
The lock resolves for facts.env's PYTHON_VERSION (the base image's python3); a type that runs
Airflow sets `[tool.runtime-images] airflow-constraints = true` and resolves under
AIRFLOW_CONSTRAINTS (facts.env's unless the environment overrides it, as for Layer 1), the
constraints of every Airflow image of the platform.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from adp.errors import Failure
from adp.images.config import SourceTree, source_tree
from adp.images.discovery import RuntimeType

# What `[tool.runtime-images]` of a type's pyproject.toml may hold.
TOOL_KEYS = ("airflow-constraints",)


class LockError(Failure, RuntimeError):
    """uv could not lock a type's requirements; the message holds uv's reason."""


def uses_airflow_constraints(runtime: RuntimeType) -> bool:
    """`[tool.runtime-images] airflow-constraints = true` in the type's pyproject.toml.

    Set by types that install Airflow: they resolve under the same constraints file as the
    platform's Airflow images, so a pod_override task runs the Airflow the scheduler runs.
    """
    try:
        data = tomllib.loads(runtime.pyproject.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise LockError(f"{runtime.pyproject}: cannot read it: {exc}") from None
    table = data.get("tool", {}).get("runtime-images", {})
    if "constraints" in table:
        raise LockError(
            f"{runtime.pyproject}: [tool.runtime-images] constraints = [...] was replaced by "
            "airflow-constraints = true (the file is facts.env's AIRFLOW_CONSTRAINTS); also "
            "drop the version from apache-airflow: the constraints pin it"
        )
    unknown = sorted(set(table) - set(TOOL_KEYS))
    if unknown:
        raise LockError(
            f"{runtime.pyproject}: [tool.runtime-images] has unknown key(s) {', '.join(unknown)}; "
            f"known: {', '.join(TOOL_KEYS)}"
        )
    value = table.get("airflow-constraints", False)
    if not isinstance(value, bool):
        raise LockError(
            f"{runtime.pyproject}: [tool.runtime-images] airflow-constraints = {value!r}: "
            "write true or false"
        )
    return value


def constraint_files(runtime: RuntimeType, tree: SourceTree | None = None) -> list[Path]:
    """The constraints the type resolves under, relative to its folder (the lock's comments
    name them as given: no absolute path of this machine)."""
    if not uses_airflow_constraints(runtime):
        return []
    tree = source_tree() if tree is None else tree
    file = tree.airflow_constraints()
    if not file.is_file():
        raise LockError(
            f"{file}: missing; AIRFLOW_CONSTRAINTS (facts.env's, or the environment's) names it "
            "relative to the repository root (make -C layer1-base-image constraints writes it)"
        )
    return [Path(os.path.relpath(file, runtime.path.resolve()))]


def lock_command(runtime: RuntimeType, uv: str = "uv", tree: SourceTree | None = None) -> list[str]:
    tree = source_tree() if tree is None else tree
    constraints = [arg for f in constraint_files(runtime, tree) for arg in ("--constraint", str(f))]
    return [
        uv,
        "pip",
        "compile",
        "--quiet",
        "--universal",
        "--python-version",
        tree.facts.PYTHON_VERSION,
        "--generate-hashes",
        "--custom-compile-command",
        f"make -C runtime-environments lock TYPE={runtime.name}",
        "--output-file",
        "requirements.lock",
        *constraints,
        "pyproject.toml",
    ]


def lock(runtime: RuntimeType, upgrade: bool = False, tree: SourceTree | None = None) -> None:
    # The uv installed next to this interpreter (the repository's .venv), else one on PATH.
    beside = Path(sys.executable).parent / "uv"
    uv = str(beside) if beside.is_file() else shutil.which("uv")
    if uv is None:
        raise LockError("uv is not installed; run `make dev-env` (or pip install uv) to lock")
    cmd = lock_command(runtime, uv, tree)
    if upgrade:
        cmd.append("--upgrade")
    env = {**os.environ, "UV_SYSTEM_CERTS": "1"}  # the machine's CA store, not uv's own roots
    proc = subprocess.run(
        cmd, cwd=runtime.path, capture_output=True, text=True, check=False, env=env
    )
    if proc.returncode != 0:
        raise LockError(f"{runtime.pyproject}: uv pip compile failed:\n{proc.stderr.strip()}")
