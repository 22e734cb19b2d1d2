"""Which datakit `adp dev` runs, and the names derived from its folder."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from adp import yaml_lines
from adp.dev.errors import DevError


def _slug(name: str) -> str:
    """Lowercase letters, digits and dashes: valid in a compose project and an image name."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug or "datakit"


@dataclass(frozen=True)
class Datakit:
    """A datakit folder: the Astro project `copier copy` created."""

    root: Path
    name: str

    @property
    def compose_project(self) -> str:
        """`<name>-<8 hex of the folder's path>`: two checkouts of one datakit never share."""
        digest = hashlib.sha256(str(self.root).encode()).hexdigest()[:8]
        return f"{_slug(self.name)}-{digest}"

    @property
    def image(self) -> str:
        """The tag `adp dev start` builds the datakit's Dockerfile into."""
        return f"{self.compose_project}/airflow:latest"

    def optional_file(self, name: str) -> Path | None:
        path = self.root / name
        return path if path.is_file() else None

    @property
    def override_file(self) -> Path | None:
        """docker-compose.override.yml, merged as `astro dev start` merges it."""
        return self.optional_file("docker-compose.override.yml")

    @property
    def env_file(self) -> Path | None:
        """.env: passed to every Airflow container, as the Astro CLI does."""
        return self.optional_file(".env")

    @property
    def settings_file(self) -> Path | None:
        """airflow_settings.yaml: connections, pools and variables for the local Airflow."""
        return self.optional_file("airflow_settings.yaml")


def project_name(root: Path) -> str:
    """`project.name` of .astro/config.yaml (what astro-cli calls the project), else the
    folder name."""
    config = root / ".astro" / "config.yaml"
    if config.is_file():
        try:  # bounded (1 MiB, 32 levels); aliases allowed, as the Astro CLI allows them
            data = yaml_lines.load(config.read_text(), str(config), allow_aliases=True)[0] or {}
        except yaml_lines.YamlError as exc:
            where = f"line {exc.problems[0].line}: " if exc.problems[0].line else ""
            raise DevError(
                f"{config} is not valid YAML ({where}{exc.message}); fix or delete it"
            ) from None
        name = (data.get("project") or {}).get("name") if isinstance(data, dict) else None
        if isinstance(name, str) and name.strip():
            return name.strip()
    return root.name


def find_datakit(start: Path | None = None) -> Datakit:
    """The datakit holding `start` (default: the current folder): the nearest folder, from
    `start` upwards, that has a Dockerfile and a dags/ folder."""
    here = Path(start or os.getcwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "Dockerfile").is_file() and (folder / "dags").is_dir():
            return Datakit(folder, project_name(folder))
    raise DevError(
        f"{here} is not inside a datakit: no folder from there upwards holds both a "
        "Dockerfile and a dags/ folder. Run adp dev in the folder `copier copy` created, "
        "or pass --project-dir"
    )
