"""`adp dev` refuses bad input with a message naming the setting, file or entry, and
changes nothing: no compose file written, no container started."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from adp.cli.main import app
from adp.dev.project import Datakit, find_datakit
from typer.testing import CliRunner

pytestmark = pytest.mark.docker


@pytest.fixture
def kit(tmp_path: Path) -> Path:
    """The smallest folder `adp dev` takes for a datakit."""
    root = tmp_path / "customer-360"
    (root / "dags").mkdir(parents=True)
    (root / "Dockerfile").write_text("FROM layer1-airflow:latest\n")
    (root / ".astro").mkdir()
    (root / ".astro" / "config.yaml").write_text("project:\n  name: customer-360\n")
    return root


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "state"
    monkeypatch.setenv("ADP_DEV_STATE_DIR", str(folder))
    for name in ("ADP_DEV_API_PORT", "ADP_DEV_POSTGRES_PORT", "IMAGE_POSTGRES"):
        monkeypatch.delenv(name, raising=False)
    return folder


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def adp(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, " ".join(result.output.split())


def assert_nothing_changed(kit: Path, state: Path) -> None:
    assert not state.exists() or not any(state.rglob("docker-compose.yml"))
    project = Datakit(kit.resolve(), "customer-360").compose_project
    client = docker.from_env()
    label = f"com.docker.compose.project={project}"
    assert client.containers.list(all=True, filters={"label": label}) == []


def test_the_datakit_is_found_from_a_subfolder_and_named_by_astro_config(kit: Path) -> None:
    found = find_datakit(kit / "dags")
    assert found.root == kit.resolve() and found.name == "customer-360"
    assert found.compose_project.startswith("customer-360-")
    assert found.compose_project != Datakit(kit.parent / "other", "customer-360").compose_project


def test_outside_a_datakit_it_says_where_to_run(tmp_path: Path, state: Path) -> None:
    code, out = adp("dev", "start", "--project-dir", str(tmp_path))
    assert code == 1
    assert "is not inside a datakit" in out and "Dockerfile and a dags/ folder" in out


def test_a_taken_port_names_the_setting(kit: Path, state: Path, taken_port: int) -> None:
    code, out = adp("dev", "start", "--project-dir", str(kit), "--port", str(taken_port))
    assert code == 1
    assert f"port {taken_port} on 127.0.0.1 (Airflow UI and API) is already taken" in out
    assert "ADP_DEV_API_PORT=<port>" in out and "--port" in out
    assert_nothing_changed(kit, state)


def test_a_taken_database_port_names_its_setting(
    kit: Path, state: Path, taken_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ADP_DEV_POSTGRES_PORT", str(taken_port))
    code, out = adp("dev", "start", "--project-dir", str(kit), "--port", "0")
    assert code == 1
    assert "ADP_DEV_POSTGRES_PORT=<port>" in out and "--postgres-port" in out
    assert_nothing_changed(kit, state)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("ADP_DEV_API_PORT", "eighty"),
        ("ADP_DEV_API_PORT", "70000"),
        ("ADP_DEV_START_TIMEOUT", "-1"),
    ],
)
def test_a_bad_setting_is_named(
    kit: Path, state: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    code, out = adp("dev", "start", "--project-dir", str(kit))
    assert code == 1
    assert f"{variable}={value!r}" in out and "fix or unset the variable" in out
    assert_nothing_changed(kit, state)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("airflow: [\n", "not valid YAML"),
        ("airflow:\n  connections:\n    - conn_type: postgres\n", "airflow.connections.0.conn_id"),
        (
            "airflow:\n  pools:\n    - pool_name: p\n      pool_slot: many\n",
            "airflow.pools.0.pool_slot",
        ),
        ("airflow:\n  variables:\n    - variable_nam: x\n", "airflow.variables.0"),
    ],
)
def test_a_bad_airflow_settings_file_is_refused_before_anything_starts(
    kit: Path, state: Path, content: str, message: str
) -> None:
    (kit / "airflow_settings.yaml").write_text(content)
    code, out = adp("dev", "start", "--project-dir", str(kit), "--port", "0")
    assert code == 1
    assert "airflow_settings.yaml" in out and message in out, out
    assert_nothing_changed(kit, state)


@pytest.mark.parametrize("command", ["stop", "logs"])
def test_commands_on_a_stack_never_started_say_so(kit: Path, state: Path, command: str) -> None:
    code, out = adp("dev", command, "--project-dir", str(kit))
    assert code == 1
    assert "no stack has been started" in out and "adp dev start" in out


def test_status_of_a_stack_never_started(kit: Path, state: Path) -> None:
    code, out = adp("dev", "status", "--project-dir", str(kit))
    assert code == 1 and "not started (adp dev start)" in out


@pytest.mark.parametrize(
    ("conf", "message"),
    [
        ("{day: 1}", "--conf is not JSON (Expecting property name enclosed in double quotes"),
        ("", "--conf is not JSON (Expecting value at line 1 column 1)"),
        ('["a"]', "--conf must be a JSON object (the DAG run's conf), not an array"),
        ('"2024-01-31"', "--conf must be a JSON object (the DAG run's conf), not a string"),
        ("7", "--conf must be a JSON object (the DAG run's conf), not a number"),
        ("null", "--conf must be a JSON object (the DAG run's conf), not null"),
    ],
)
def test_a_bad_conf_is_refused_before_anything_is_triggered(
    kit: Path, state: Path, monkeypatch: pytest.MonkeyPatch, conf: str, message: str
) -> None:
    """Exit 2 naming --conf, before the stack or Docker is looked at: with no engine to
    answer, a good conf gets as far as asking Docker (exit 1), a bad one never does."""
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    code, out = adp("dev", "trigger", "some_dag", "--project-dir", str(kit), "--conf", conf)
    assert code == 2, out
    assert message in out and """e.g. --conf '{"day": "2024-01-31"}'""" in out, out
    assert "Docker" not in out
    code, out = adp("dev", "trigger", "some_dag", "-p", str(kit), "--conf", '{"day": 1}')
    assert code == 1 and "no Docker engine answers" in out, out
