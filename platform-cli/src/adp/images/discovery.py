"""Find the runtime types: every folder of runtime-environments/ that holds a type's files.

Adding a type is adding a folder; nothing else lists them. A folder holding any of a type's
own files (pyproject.toml, requirements.lock, packages.txt, runtime.dockerfile) but not all
the required ones is an error naming the missing file, not a silent skip.
Every type builds from the one shared Dockerfile (runtime-environments/Dockerfile): a type
folder holds no Dockerfile, only what differs, with an optional `runtime.dockerfile` of
instructions the driver inserts into the shared runtime stage.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from adp.errors import UsageError
from adp.images.config import TYPE_NAME_RE, source_tree

REQUIRED_FILES = ("pyproject.toml", "requirements.lock", "packages.txt", "README.md")
# Optional: the type's own instructions, inserted into the shared Dockerfile's runtime stage.
FRAGMENT_FILE = "runtime.dockerfile"
_FROM_RE = re.compile(r"^\s*FROM\s", re.IGNORECASE | re.MULTILINE)


class DiscoveryError(UsageError, ValueError):
    """A runtime folder is incomplete or misnamed."""


@dataclass(frozen=True)
class RuntimeType:
    name: str
    path: Path

    @property
    def fragment(self) -> Path:
        """`runtime.dockerfile`: optional; the type's lines of the shared runtime stage."""
        return self.path / FRAGMENT_FILE

    @property
    def pyproject(self) -> Path:
        return self.path / "pyproject.toml"

    @property
    def lock(self) -> Path:
        return self.path / "requirements.lock"

    @property
    def packages(self) -> Path:
        return self.path / "packages.txt"

    def debian_packages(self) -> list[str]:
        """Package names from packages.txt (comments and blank lines dropped)."""
        names = []
        for line in self.packages.read_text().splitlines():
            names.extend(line.split("#", 1)[0].split())
        return names


def discover(root: Path | None = None) -> list[RuntimeType]:
    """All runtime types under `root` (default: the source tree's runtime-environments/),
    sorted by name."""
    root = source_tree().runtime_root if root is None else root
    if not root.is_dir():
        raise DiscoveryError(
            "not a folder; point --root at the runtime-environments folder", file=str(root)
        )
    types = []
    for child in sorted(root.iterdir()):
        if not child.is_dir() or child.name.startswith((".", "_")):
            continue
        if not is_type_folder(child):
            continue
        check_folder(child)
        types.append(RuntimeType(name=child.name, path=child))
    return types


def is_type_folder(folder: Path) -> bool:
    """Whether `folder` is meant as a type: it holds one of a type's own files (support
    folders such as tests/ hold none; README.md alone does not count)."""
    own = ("pyproject.toml", "requirements.lock", "packages.txt", FRAGMENT_FILE, "Dockerfile")
    return any((folder / name).is_file() for name in own)


def check_folder(child: Path) -> None:
    """Raise DiscoveryError naming what is wrong with a type folder."""
    if not TYPE_NAME_RE.fullmatch(child.name):
        raise DiscoveryError(
            f"folder name {child.name!r} is not a valid runtime type name; "
            "rename it to lowercase words joined by single hyphens (e.g. ml-runner)",
            file=str(child),
        )
    for required in REQUIRED_FILES:
        if not (child / required).is_file():
            hint = (
                f"run: make -C runtime-environments lock TYPE={child.name}"
                if required == "requirements.lock"
                else "copy it from python-runner/ (the plainest type) and adapt it"
            )
            raise DiscoveryError(f"missing; {hint}", file=str(child / required))
    if (child / "Dockerfile").exists():
        raise DiscoveryError(
            "a type holds no Dockerfile; every type builds from the shared "
            "runtime-environments/Dockerfile. Move the lines only this type needs to "
            f"{child / FRAGMENT_FILE} (no FROM) and delete the Dockerfile",
            file=str(child / "Dockerfile"),
        )
    fragment = child / FRAGMENT_FILE
    if fragment.is_file() and _FROM_RE.search(fragment.read_text()):
        raise DiscoveryError(
            "holds a FROM line; it is inserted into the shared runtime stage, so it may only "
            "add instructions to that stage (ENV, RUN, COPY ...), not start one",
            file=str(fragment),
        )


def select(types: list[RuntimeType], names: list[str] | None) -> list[RuntimeType]:
    """Keep the named types (all when `names` is empty); unknown names are an error."""
    if not names:
        return types
    known = {t.name: t for t in types}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise DiscoveryError(
            f"unknown runtime type(s): {', '.join(unknown)}; known: {', '.join(known) or 'none'}"
        )
    return [known[n] for n in names]
