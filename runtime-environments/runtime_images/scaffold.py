"""`make new-runtime NAME=x`: create a runtime folder from the reference type (python-runner)."""

from __future__ import annotations

import re
from pathlib import Path

from runtime_images.config import RUNTIME_ROOT, TYPE_NAME_RE
from runtime_images.discovery import RuntimeType

REFERENCE_TYPE = "python-runner"


class ScaffoldError(ValueError):
    pass


PYPROJECT = """\
# Python dependencies of the {name} runtime image.
# Edit, then re-lock: make -C runtime-environments lock TYPE={name}
[project]
name = "adp-{name}"
version = "0.1.0"
description = "Runtime image for {name} jobs"
requires-python = "==3.11.*"
dependencies = [
]
"""

PACKAGES = """\
# Debian packages this runtime needs, one per line (installed with --no-install-recommends).
"""

README = """\
# {name}

Runtime image for ... jobs (describe them here).

- Python dependencies: `pyproject.toml`, locked in `requirements.lock`
  (`make -C runtime-environments lock TYPE={name}` after editing).
- Debian packages: `packages.txt`.
- Build: `make -C runtime-environments images TYPES={name}`.
- Smoke check: `docker run --rm <tag> python -c "..."`.
"""


def new_runtime(name: str, root: Path = RUNTIME_ROOT) -> RuntimeType:
    """Create `root/name` with the reference Dockerfile and empty dependency lists."""
    if not TYPE_NAME_RE.match(name):
        raise ScaffoldError(
            f"NAME={name!r}: use lowercase letters, digits and single hyphens, starting with "
            "a letter (e.g. ml-runner)"
        )
    target = root / name
    if target.exists():
        raise ScaffoldError(f"{target}: already exists; choose another NAME or edit that folder")
    reference = RUNTIME_ROOT / REFERENCE_TYPE / "Dockerfile"
    dockerfile = reference.read_text()
    dockerfile = re.sub(
        r"\A(#.*\n)+",
        f"# {name}: created by `make new-runtime` from python-runner/Dockerfile. Describe the\n"
        "# jobs it runs here; mark what differs from the reference with a comment.\n",
        dockerfile,
    )
    dockerfile = dockerfile.replace(
        f"ARG RUNTIME_TYPE={REFERENCE_TYPE}", f"ARG RUNTIME_TYPE={name}"
    )
    target.mkdir(parents=True)
    (target / "Dockerfile").write_text(dockerfile)
    (target / "pyproject.toml").write_text(PYPROJECT.format(name=name))
    (target / "packages.txt").write_text(PACKAGES)
    (target / "README.md").write_text(README.format(name=name))
    return RuntimeType(name=name, path=target)
