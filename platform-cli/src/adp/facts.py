"""The platform's pinned facts (Airflow, Python, uv, base images, versions), read from facts.env.

facts.env sits at the repository root and is the one place each fact is written. Installed from
a wheel, adp carries a copy (the build force-includes it as ``adp/facts.env``); run from the
source tree, adp reads the root file itself. Pure logic: no Docker, no network.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from adp import envfile, pydantic_problems
from adp.errors import UsageError

FILE_NAME = "facts.env"


class FactsError(UsageError, RuntimeError):
    """facts.env is missing or malformed; the message names the line and the fix."""


class Facts(BaseModel):
    """One field per line of facts.env; an unknown or missing key is an error."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    PLATFORM_VERSION: str
    AIRFLOW_VERSION: str
    PYTHON_VERSION: str
    UV_VERSION: str
    DEBIAN_SUITE: str
    IMAGE_PYTHON: str
    IMAGE_ASTRONOMER: str
    ASTRO_RUNTIME_VERSION: str
    POSTGRES_MAJOR: str
    AIRFLOW_CONSTRAINTS: str

    def as_env(self) -> dict[str, str]:
        """KEY -> value, as the file writes them (build arguments, subprocess environments)."""
        return self.model_dump()


def parse(text: str, source: str = FILE_NAME) -> Facts:
    """Parse facts.env text: `KEY=value` lines, `#` comments, no quotes, spaces or expansion."""
    try:
        values = envfile.values(text, source, grammar="strict")
    except envfile.EnvFileError as error:
        raise FactsError(problems=error.problems) from None
    try:
        return Facts(**values)
    except ValidationError as exc:
        found = pydantic_problems.problems(
            exc,
            message=lambda item: (
                "missing, add the line" if item["type"] == "missing" else "unknown key, remove it"
            ),
        )
        raise FactsError(f"{source}: {pydantic_problems.render(found)}") from None


def repo_root(start: Path | None = None) -> Path | None:
    """The source tree holding facts.env above `start` (default: this file), if any."""
    here = (start or Path(__file__)).resolve()
    for folder in (here, *here.parents):
        if (folder / FILE_NAME).is_file() and (folder / "copier.yml").is_file():
            return folder
    return None


def facts_file() -> Path:
    """The facts.env adp reads: the source tree's, else the copy packaged with adp."""
    root = repo_root()
    if root is not None:
        return root / FILE_NAME
    packaged = Path(__file__).with_name(FILE_NAME)
    if packaged.is_file():
        return packaged
    raise FactsError(
        f"no {FILE_NAME}: adp runs neither from the platform's source tree nor from a wheel "
        "that carries it; reinstall platform-cli from the repository"
    )


@lru_cache(maxsize=1)
def load() -> Facts:
    """The platform's facts (read once per process)."""
    path = facts_file()
    return parse(path.read_text(), source=str(path))
