"""The stack as a compose file (one reviewed template), and the compose command that runs it.

Two shapes, both as the Astro CLI writes them for Airflow 3:
- "astro": the newer CLI; no logs volume, DAG files re-parsed within seconds. `adp dev`
  runs this one.
- "astro-v1": astro-cli v1, which also mounts a named volume `airflow_logs` at
  /usr/local/airflow/logs. Rendered so tests prove the image works under it too.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Literal

import jinja2

from adp.dev.errors import DevError
from adp.dev.settings import ComposeSettings

Shape = Literal["astro", "astro-v1"]
SHAPES: tuple[Shape, ...] = ("astro", "astro-v1")


@dataclass(frozen=True)
class AirflowService:
    name: str
    command: str
    mounts: tuple[str, ...]


PROJECT_MOUNTS = ("dags", "plugins", "include", "tests")
# The Astro CLI mounts tests/ everywhere but in the triggerer.
AIRFLOW_SERVICES = (
    AirflowService("scheduler", "scheduler", PROJECT_MOUNTS),
    AirflowService("dag-processor", "dag-processor", PROJECT_MOUNTS),
    AirflowService("api-server", "api-server", PROJECT_MOUNTS),
    AirflowService("triggerer", "triggerer", PROJECT_MOUNTS[:3]),
)
SERVICE_NAMES = ("postgres", "db-migration", *(s.name for s in AIRFLOW_SERVICES))


@dataclass(frozen=True)
class StackSpec:
    """Everything the compose file depends on. Ports None: Docker picks free host ports."""

    datakit_name: str
    project_dir: Path
    image: str
    postgres_image: str
    secrets_file: Path
    env_file: Path | None = None
    settings_file: Path | None = None
    api_port: int | None = 8080
    postgres_port: int | None = 5432
    shape: Shape = "astro"


def render(spec: StackSpec) -> str:
    """The compose file of `spec`, as text."""
    if spec.shape not in SHAPES:
        raise DevError(f"unknown stack shape {spec.shape!r}; use one of {', '.join(SHAPES)}")
    template = jinja2.Template(
        (files("adp.dev") / "compose.yml.j2").read_text(),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    return template.render(
        datakit_name=spec.datakit_name,
        project_dir=spec.project_dir,
        image=spec.image,
        postgres_image=spec.postgres_image,
        secrets_file=spec.secrets_file,
        env_file=spec.env_file,
        settings_file=spec.settings_file,
        api_port=spec.api_port,
        postgres_port=spec.postgres_port,
        shape=spec.shape,
        airflow_services=AIRFLOW_SERVICES,
    )


def write(spec: StackSpec, path: Path) -> Path:
    """Render `spec` into `path` (its folder is created 0700)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.write_text(render(spec))
    return path


def compose_command() -> list[str]:
    """$ADP_COMPOSE (split like a shell), else Debian's docker-compose, else `docker compose`."""
    configured = ComposeSettings.load().compose
    if configured:
        return shlex.split(configured)
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run(
            [docker, "compose", "version"], capture_output=True, text=True, check=False
        )
        if probe.returncode == 0:
            return [docker, "compose"]
    raise DevError(
        "no Docker Compose found: install Debian's docker-compose (apt-get install "
        "docker-compose) or the Compose v2 plugin, or set ADP_COMPOSE to its command"
    )


def compose_args(project: str, project_dir: Path, files: list[Path]) -> list[str]:
    """The options every compose call of one stack starts with (after the command)."""
    args = ["--project-name", project, "--project-directory", str(project_dir)]
    for file in files:
        args += ["--file", str(file)]
    return args
