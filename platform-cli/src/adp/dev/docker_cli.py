"""A docker client that builds with BuildKit (the Python twin of scripts/find-buildkit-docker).

Datakit images may use `RUN --mount=type=secret`, which only BuildKit understands. A docker
client >= 23 without the buildx plugin silently falls back to the legacy builder; Debian's
20.10 client has BuildKit built in (DOCKER_BUILDKIT=1). Candidates, in order: $DOCKER,
every `docker` on PATH, /usr/bin/docker, /usr/local/bin/docker.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

# Where Debian's docker.io and Docker's own packages put the client, PATH or not.
WELL_KNOWN_CLIENTS = ["/usr/bin/docker", "/usr/local/bin/docker"]


def candidates() -> list[str]:
    found: list[str] = []
    if os.environ.get("DOCKER"):
        found.append(os.environ["DOCKER"])
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        if folder:
            found.append(str(Path(folder) / "docker"))
    found += WELL_KNOWN_CLIENTS
    unique: list[str] = []
    for path in found:
        if path not in unique and os.access(path, os.X_OK) and Path(path).is_file():
            unique.append(path)
    return unique


def _output(*command: str) -> str | None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def builds_with_buildkit(client: str) -> bool:
    if _output(client, "buildx", "version") is not None:
        return True
    version = _output(client, "version", "--format", "{{.Client.Version}}") or ""
    major = version.split(".", 1)[0]
    return major.isdigit() and int(major) < 23


def buildkit_client() -> str | None:
    """The first candidate that builds with BuildKit, or None."""
    return next((c for c in candidates() if builds_with_buildkit(c)), None)
