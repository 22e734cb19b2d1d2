"""The compose command running_airflow_stack hands pytest-docker (a shell command line):
run through pytest-docker's own executor, it sees IMAGE_POSTGRES as the stack's metadata
database image, as every `adp dev` compose command does."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import yaml
from adp.dev.project import Datakit
from adp.dev.settings import DevSettings
from adp.dev.stack import Stack
from adp_test_servers.airflow_stack import pytest_docker_command
from pytest_docker.plugin import DockerComposeExecutor


def test_pytest_dockers_compose_sees_the_metadata_databases_image(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IMAGE_POSTGRES", "registry.example/postgres:17")  # not the rendered one
    root = tmp_path / "warehouse kit"  # a space: the command line is quoted for the shell
    for folder in ("dags", "plugins", "include", "tests"):
        (root / folder).mkdir(parents=True)
    (root / "docker-compose.override.yml").write_text(
        "services:\n  warehouse:\n    image: ${IMAGE_POSTGRES:-postgres:16}\n"
    )
    datakit = Datakit(root, f"warehouse-kit-{uuid.uuid4().hex[:6]}")
    stack = Stack(datakit, DevSettings(state_dir=tmp_path / "state"), api_port=0, postgres_port=0)
    stack.render("adp-postgres:15")
    files = [str(f) for f in stack.files()]
    compose = DockerComposeExecutor(pytest_docker_command(stack), files, stack.project)
    services = yaml.safe_load(compose.execute("config"))["services"]
    assert services["postgres"]["image"] == services["warehouse"]["image"] == "adp-postgres:15"
