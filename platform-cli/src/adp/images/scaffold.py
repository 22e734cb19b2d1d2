"""`adp images new NAME` (`make new-runtime NAME=x`): create a runtime type folder.

The folder holds only what is the type's own: its dependencies and a README. It builds from the
shared runtime-environments/Dockerfile like every type; instructions only it needs go in an
optional runtime.dockerfile, which is not created here (most types need none).
"""

from __future__ import annotations

from pathlib import Path

from adp.errors import UsageError
from adp.images.config import TYPE_NAME_RE, source_tree
from adp.images.discovery import FRAGMENT_FILE, RuntimeType


class ScaffoldError(UsageError, ValueError):
    """The new type's name is refused or the folder exists; the message says which."""


# Like every type's: no version (the image is tagged with facts.env's PLATFORM_VERSION) and no
# requires-python (the lock resolves for facts.env's PYTHON_VERSION); uv reads the static
# dependencies without building anything.
PYPROJECT = """\
# Python dependencies of the {name} runtime image.
# Edit, then re-lock: make -C runtime-environments lock TYPE={name}
[project]
name = "adp-{name}"
dynamic = ["version"]
description = "Runtime image for {name} jobs"
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
- Built from the shared `runtime-environments/Dockerfile`; instructions only this type needs
  (ENV lines, a driver registration) go in an optional `{fragment}` (no `FROM`).
- Build: `make -C runtime-environments images TYPES={name}`.
- Smoke check: `docker run --rm <tag> python -c "..."`.
"""


def new_runtime(name: str, root: Path | None = None) -> RuntimeType:
    """Create `root/name` (default root: the source tree's runtime-environments/) with empty
    dependency lists and a README stub."""
    if not TYPE_NAME_RE.fullmatch(name):
        raise ScaffoldError(
            f"NAME={name!r}: use lowercase letters, digits and single hyphens, starting with "
            "a letter (e.g. ml-runner)"
        )
    target = (source_tree().runtime_root if root is None else root) / name
    if target.exists():
        raise ScaffoldError(f"{target}: already exists; choose another NAME or edit that folder")
    target.mkdir(parents=True)
    (target / "pyproject.toml").write_text(PYPROJECT.format(name=name))
    (target / "packages.txt").write_text(PACKAGES)
    (target / "README.md").write_text(README.format(name=name, fragment=FRAGMENT_FILE))
    return RuntimeType(name=name, path=target)
