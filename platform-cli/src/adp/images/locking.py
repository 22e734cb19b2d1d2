"""Lock a runtime's Python dependencies: pyproject.toml -> requirements.lock (uv, with hashes).

Why a requirements.lock from `uv pip compile` rather than `uv.lock`: the image installs it
with `uv pip sync --require-hashes` from whatever index UV_DEFAULT_INDEX names (a corporate
mirror), while `uv.lock` records pypi.org download URLs. Hashes still pin every file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from adp.images.discovery import RuntimeType

PYTHON_VERSION = "3.11"  # the foundation's base image: Debian bookworm's python3


class LockError(RuntimeError):
    pass


def constraint_files(runtime: RuntimeType) -> list[Path]:
    """`[tool.runtime-images] constraints = [...]` in pyproject.toml, relative to the type.

    Used by types that install Airflow: they resolve under the same constraints file as the
    platform's Airflow images, so a pod_override task runs the Airflow the scheduler runs.
    """
    try:
        data = tomllib.loads(runtime.pyproject.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise LockError(f"{runtime.pyproject}: cannot read it: {exc}") from None
    paths = data.get("tool", {}).get("runtime-images", {}).get("constraints", [])
    for path in paths:
        file = (runtime.path / path).resolve()
        if not file.is_file():
            raise LockError(
                f"{runtime.pyproject}: [tool.runtime-images] constraints names {file}, which "
                "does not exist; fix the path (relative to the type's folder)"
            )
    # Relative, as written: the lock's comments must not hold this machine's paths.
    return [Path(p) for p in paths]


def lock_command(runtime: RuntimeType, uv: str = "uv") -> list[str]:
    constraints = [arg for f in constraint_files(runtime) for arg in ("--constraint", str(f))]
    return [
        uv,
        "pip",
        "compile",
        "--quiet",
        "--universal",
        "--python-version",
        PYTHON_VERSION,
        "--generate-hashes",
        "--custom-compile-command",
        f"make -C runtime-environments lock TYPE={runtime.name}",
        "--output-file",
        "requirements.lock",
        *constraints,
        "pyproject.toml",
    ]


def lock(runtime: RuntimeType, upgrade: bool = False) -> None:
    # The uv installed next to this interpreter (the repository's .venv), else one on PATH.
    beside = Path(sys.executable).parent / "uv"
    uv = str(beside) if beside.is_file() else shutil.which("uv")
    if uv is None:
        raise LockError("uv is not installed; run `make dev-env` (or pip install uv) to lock")
    cmd = lock_command(runtime, uv)
    if upgrade:
        cmd.append("--upgrade")
    env = {**os.environ, "UV_SYSTEM_CERTS": "1"}  # the machine's CA store, not uv's own roots
    proc = subprocess.run(
        cmd, cwd=runtime.path, capture_output=True, text=True, check=False, env=env
    )
    if proc.returncode != 0:
        raise LockError(f"{runtime.pyproject}: uv pip compile failed:\n{proc.stderr.strip()}")
