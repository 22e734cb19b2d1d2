"""Lock a runtime's Python dependencies: pyproject.toml -> requirements.lock (uv, with hashes).

Why a requirements.lock from `uv pip compile` rather than `uv.lock`: the image installs it
with `uv pip sync --require-hashes` from whatever index UV_DEFAULT_INDEX names (a corporate
mirror), while `uv.lock` records pypi.org download URLs. Hashes still pin every file.
"""

from __future__ import annotations

import shutil
import subprocess

from runtime_images.discovery import RuntimeType

PYTHON_VERSION = "3.11"  # the foundation's base image: Debian bookworm's python3


class LockError(RuntimeError):
    pass


def lock_command(runtime: RuntimeType, uv: str = "uv") -> list[str]:
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
        "pyproject.toml",
    ]


def lock(runtime: RuntimeType, upgrade: bool = False) -> None:
    uv = shutil.which("uv")
    if uv is None:
        raise LockError("uv is not on PATH; install it (pip install uv) to lock dependencies")
    cmd = lock_command(runtime, uv)
    if upgrade:
        cmd.append("--upgrade")
    proc = subprocess.run(cmd, cwd=runtime.path, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise LockError(f"{runtime.pyproject}: uv pip compile failed:\n{proc.stderr.strip()}")
