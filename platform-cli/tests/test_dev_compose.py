"""The local stack's compose file: a reviewed artifact (golden copies), valid for Compose,
in the Astro CLI's two shapes, with no secret in it; every compose command on a stack sees
IMAGE_POSTGRES as the metadata database's image, so the datakit's override can run a
PostgreSQL of its own from it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml
from adp.dev import secrets
from adp.dev.compose import SHAPES, StackSpec, compose_args, compose_command, render, write
from adp.dev.project import find_datakit
from adp.dev.settings import DevSettings
from adp.dev.stack import Stack
from adp_test_helpers.golden import update_requested

GOLDEN = Path(__file__).parent / "golden"


def spec(shape: str, secrets_file: Path = Path("/state/secrets.env")) -> StackSpec:
    return StackSpec(
        datakit_name="customer-360",
        project_dir=Path("/projects/customer-360"),
        image="customer-360-0123abcd/airflow:latest",
        postgres_image="postgres:15",
        secrets_file=secrets_file,
        env_file=Path("/projects/customer-360/.env"),
        settings_file=Path("/projects/customer-360/airflow_settings.yaml"),
        shape=shape,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("shape", SHAPES)
def test_rendering_matches_the_golden_copy(shape: str) -> None:
    """Any change to the stack users run shows up as a diff of these files (regenerate
    with ADP_UPDATE_GOLDEN=1 and review)."""
    golden = GOLDEN / f"compose-{shape}.yml"
    text = render(spec(shape))
    if update_requested():  # never under CI
        golden.write_text(text)
    assert text == golden.read_text()


@pytest.mark.parametrize("shape", SHAPES)
def test_the_shape_is_the_astro_clis(shape: str) -> None:
    data = yaml.safe_load(render(spec(shape)))
    services = data["services"]
    assert list(services) == [
        "postgres",
        "db-migration",
        "scheduler",
        "dag-processor",
        "api-server",
        "triggerer",
    ]
    env = services["scheduler"]["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://api-server:8080/execution/"
    assert env["ASTRONOMER_ENVIRONMENT"] == "local"
    assert services["db-migration"]["command"] == ["airflow", "db", "migrate"]
    for name in ("scheduler", "dag-processor", "api-server", "triggerer"):
        service = services[name]
        assert service["command"] == ["airflow", name]
        assert service["user"] == "astro"
        assert service["depends_on"]["db-migration"]["condition"] == (
            "service_completed_successfully"
        )
        mounts = [v.split(":")[1] for v in service["volumes"]]
        folders = ["dags", "plugins", "include"] + ([] if name == "triggerer" else ["tests"])
        for folder in folders:
            assert f"/usr/local/airflow/{folder}" in mounts, (name, mounts)
        has_logs_volume = "airflow_logs:/usr/local/airflow/logs" in service["volumes"]
        assert has_logs_volume == (shape == "astro-v1"), name
        assert service["env_file"] == ["/state/secrets.env", "/projects/customer-360/.env"]
    assert services["api-server"]["ports"] == ["127.0.0.1:8080:8080"]
    assert services["postgres"]["ports"] == ["127.0.0.1:5432:5432"]


def test_free_ports_are_left_to_docker() -> None:
    data = yaml.safe_load(render(StackSpec(**{**spec("astro").__dict__, "api_port": None})))
    assert data["services"]["api-server"]["ports"] == ["127.0.0.1::8080"]


@pytest.mark.parametrize("shape", SHAPES)
def test_compose_accepts_the_file_and_no_secret_is_in_it(tmp_path: Path, shape: str) -> None:
    secrets_file = secrets.ensure(tmp_path / "state")
    values = secrets.read(secrets_file)
    assert set(values) >= {
        "POSTGRES_PASSWORD",
        "AIRFLOW__API_AUTH__JWT_SECRET",
        "AIRFLOW__API__SECRET_KEY",
        "AIRFLOW__CORE__FERNET_KEY",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
    }
    assert (secrets_file.stat().st_mode & 0o777) == 0o600
    project = tmp_path / "customer-360"
    for folder in ("dags", "plugins", "include", "tests"):
        (project / folder).mkdir(parents=True)
    stack_spec = StackSpec(
        **{
            **spec(shape, secrets_file).__dict__,
            "project_dir": project,
            "env_file": None,
            "settings_file": None,
        }
    )
    compose_file = write(stack_spec, tmp_path / "state" / "docker-compose.yml")
    text = compose_file.read_text()
    for value in values.values():
        assert value not in text
    checked = subprocess.run(
        [*compose_command(), *compose_args("golden", project, [compose_file]), "config", "-q"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stderr


def test_secrets_are_generated_once_per_stack(tmp_path: Path) -> None:
    first = secrets.read(secrets.ensure(tmp_path))
    again = secrets.read(secrets.ensure(tmp_path))
    other = secrets.read(secrets.ensure(tmp_path / "other"))
    assert first == again  # the database volume keeps the first password
    assert first["AIRFLOW__API_AUTH__JWT_SECRET"] != other["AIRFLOW__API_AUTH__JWT_SECRET"]
    assert first["POSTGRES_PASSWORD"] in first["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]


# The example of docs/local-airflow.md ("A service of your own").
WAREHOUSE_OVERRIDE = """\
services:
  warehouse:
    image: ${IMAGE_POSTGRES:-postgres:16}
    environment:
      POSTGRES_USER: pagila
      POSTGRES_PASSWORD: pagila
    networks:
      - airflow
    volumes:
      - warehouse_data:/var/lib/postgresql/data
volumes:
  warehouse_data:
"""


def datakit_with_warehouse(root: Path) -> Path:
    """A datakit whose docker-compose.override.yml adds a PostgreSQL of its own."""
    for folder in ("dags", "plugins", "include", "tests"):
        (root / folder).mkdir(parents=True)
    (root / "Dockerfile").write_text("FROM layer1-airflow:latest\n")
    (root / "docker-compose.override.yml").write_text(WAREHOUSE_OVERRIDE)
    return root


@pytest.mark.parametrize("callers_image_postgres", [None, "registry.example/postgres:17"])
def test_the_overrides_postgres_runs_the_metadata_databases_image(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, callers_image_postgres: str | None
) -> None:
    """`${IMAGE_POSTGRES:-postgres:16}` in the override is the image rendered for the
    metadata database (the offline-built one here), read back from the rendered file by a
    later command (a new Stack, as `adp dev stop` or `exec` makes), whatever the caller's
    environment holds; under `astro dev start`, with no IMAGE_POSTGRES, the default."""
    kit = datakit_with_warehouse(tmp_path / "customer-360")
    if callers_image_postgres is None:
        monkeypatch.delenv("IMAGE_POSTGRES", raising=False)
    else:
        monkeypatch.setenv("IMAGE_POSTGRES", callers_image_postgres)
    settings = DevSettings(state_dir=tmp_path / "state")
    Stack(find_datakit(kit), settings).render("adp-postgres:15")

    later = Stack(find_datakit(kit), settings)
    assert later.interpolation() == {"IMAGE_POSTGRES": "adp-postgres:15"}
    services = yaml.safe_load(later.compose("config").stdout)["services"]
    assert services["postgres"]["image"] == "adp-postgres:15"
    assert services["warehouse"]["image"] == "adp-postgres:15"
    assert list(services["warehouse"]["networks"]) == list(services["scheduler"]["networks"])

    astro_env = {k: v for k, v in os.environ.items() if k != "IMAGE_POSTGRES"}
    as_astro = subprocess.run(
        later.compose_argv("config"), capture_output=True, text=True, env=astro_env, timeout=60
    )
    assert as_astro.returncode == 0, as_astro.stderr
    assert yaml.safe_load(as_astro.stdout)["services"]["warehouse"]["image"] == "postgres:16"
