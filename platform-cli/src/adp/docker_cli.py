"""A docker client that builds with BuildKit, found by the one rule: scripts/find-buildkit-docker.

Datakit, Layer-1 and runtime images use `RUN --mount=type=secret|cache`, which only BuildKit
understands. The rule (which clients, in which order, what counts as BuildKit) is written once,
in the shell script every build script calls; adp runs that script, from the source tree or from
the copy its wheel carries (`adp/find-buildkit-docker`), so the rule is never written twice.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from adp import facts
from adp.errors import Failure

SCRIPT = "find-buildkit-docker"
# The script runs whatever PATH holds (a PATH without bash still finds no client, clearly).
BASH = "/bin/bash" if Path("/bin/bash").is_file() else "bash"


class NoBuildKitClient(Failure, RuntimeError):
    """No docker client builds with BuildKit; the message lists the clients tried and the fix."""


def finder() -> Path:
    """scripts/find-buildkit-docker of the source tree, else the copy packaged with adp."""
    root = facts.repo_root()
    if root is not None and (root / "scripts" / SCRIPT).is_file():
        return root / "scripts" / SCRIPT
    return Path(__file__).with_name(SCRIPT)


def buildkit_client() -> str:
    """Path of the first docker client that builds with BuildKit ($DOCKER, PATH, well-known)."""
    script = finder()
    try:
        done = subprocess.run(
            [BASH, str(script)], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise NoBuildKitClient(f"{script} could not run: {exc}") from None
    if done.returncode != 0 or not done.stdout.strip():
        raise NoBuildKitClient(done.stderr.strip() or f"{script} found no docker client")
    return done.stdout.strip()
