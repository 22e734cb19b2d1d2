"""Find the runtime types: every folder of runtime-environments/ that holds a Dockerfile.

Adding a type is adding a folder; nothing else lists them. A folder with a Dockerfile but
without the other required files is an error naming the missing file, not a silent skip.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from runtime_images.config import RUNTIME_ROOT, TYPE_NAME_RE

REQUIRED_FILES = ("Dockerfile", "pyproject.toml", "requirements.lock", "packages.txt", "README.md")


class DiscoveryError(ValueError):
    """A runtime folder is incomplete or misnamed."""


@dataclass(frozen=True)
class RuntimeType:
    name: str
    path: Path

    @property
    def dockerfile(self) -> Path:
        return self.path / "Dockerfile"

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


def discover(root: Path = RUNTIME_ROOT) -> list[RuntimeType]:
    """All runtime types under `root`, sorted by name."""
    if not root.is_dir():
        raise DiscoveryError(
            f"{root}: not a folder; point --root at the runtime-environments folder"
        )
    types = []
    for child in sorted(root.iterdir()):
        if not child.is_dir() or child.name.startswith((".", "_")):
            continue
        if not (child / "Dockerfile").is_file():
            continue
        if not TYPE_NAME_RE.match(child.name):
            raise DiscoveryError(
                f"{child}: folder name {child.name!r} is not a valid runtime type name; "
                "rename it to lowercase words joined by single hyphens (e.g. ml-runner)"
            )
        for required in REQUIRED_FILES:
            if not (child / required).is_file():
                hint = (
                    f"run: make -C runtime-environments lock TYPE={child.name}"
                    if required == "requirements.lock"
                    else "copy it from python-runner/ (the reference type) and adapt it"
                )
                raise DiscoveryError(f"{child / required}: missing; {hint}")
        types.append(RuntimeType(name=child.name, path=child))
    return types


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
