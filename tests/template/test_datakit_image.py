"""A generated datakit builds FROM the real Layer-1 image and Airflow runs it.

Reuses the foundation's image chain (the session fixture `layer1_image`).
The datakit's Dockerfile is a bare `FROM`: the Layer-1 ONBUILD triggers
install packages.txt and requirements.txt and copy the project in. Inside the
container, as `astro dev start` would run it (ASTRONOMER_ENVIRONMENT=local):
no import errors, the example DAG runs to success, and the datakit's own
test suites pass.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = [pytest.mark.docker, pytest.mark.slow]

DATAKIT = "image-test-kit"
PACKAGE = "image_test_kit"


@pytest.fixture(scope="module")
def datakit(tmp_path_factory, template_repo, render, layer1_image) -> Path:
    project = tmp_path_factory.mktemp("image") / DATAKIT
    return render(
        template_repo,
        project,
        datakit_name=DATAKIT,
        layer1_image=layer1_image,
        runtime_images=True,  # its DAG must parse with the image's cncf-kubernetes provider
    )


@pytest.fixture(scope="module")
def datakit_image(datakit: Path, docker_cli: str, docker_client) -> Iterator[str]:
    tag = f"adp-datakit-test:{uuid.uuid4().hex[:12]}"
    env = {**os.environ, "DOCKER_BUILDKIT": "1"}
    result = subprocess.run(
        [docker_cli, "build", "-q", "-t", tag, str(datakit)],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, f"datakit build failed:\n{result.stdout}\n{result.stderr}"
    yield tag
    docker_client.images.remove(tag, force=True)


@pytest.fixture(scope="module")
def container(datakit_image: str, docker_client):
    """One running container of the datakit image, with Airflow's database migrated."""
    box = docker_client.containers.run(
        datakit_image,
        ["sleep", "infinity"],
        detach=True,
        environment={"ASTRONOMER_ENVIRONMENT": "local"},
        network_mode="none",
    )
    try:
        code, output = box.exec_run(["airflow", "db", "migrate"])
        assert code == 0, output.decode(errors="replace")[-4000:]
        yield box
    finally:
        box.remove(force=True)


def run(box, *command: str) -> tuple[int, str, str]:
    code, (out, err) = box.exec_run(list(command), demux=True)
    return code, (out or b"").decode(errors="replace"), (err or b"").decode(errors="replace")


def test_dockerfile_is_a_bare_from(datakit: Path, layer1_image: str) -> None:
    lines = [
        line
        for line in (datakit / "Dockerfile").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines == [f"FROM {layer1_image}"]


def test_project_is_in_the_image_as_astro(container) -> None:
    code, out, _ = run(container, "bash", "-c", "id -un; pwd; ls dags tests/dags")
    assert code == 0
    assert out.splitlines()[:2] == ["astro", "/usr/local/airflow"]
    assert f"{PACKAGE}_example.py" in out and "test_dag_integrity.py" in out


def test_no_import_errors(container) -> None:
    code, out, err = run(
        container, "airflow", "dags", "list-import-errors", "--local", "-o", "json"
    )
    assert code == 0, f"{out}\n{err}"
    assert json.loads(out.strip().splitlines()[-1]) == []


def test_dags_are_listed(container) -> None:
    code, out, err = run(container, "airflow", "dags", "list", "--local", "-o", "json")
    assert code == 0, f"{out}\n{err}"
    dag_ids = {dag["dag_id"] for dag in json.loads(out.strip().splitlines()[-1])}
    assert dag_ids == {f"{PACKAGE}_example", f"{PACKAGE}_runtime_images"}


def test_example_dag_runs_to_success(container) -> None:
    code, out, err = run(container, "airflow", "dags", "test", f"{PACKAGE}_example")
    log = out + err
    assert code == 0, log[-6000:]
    assert "state=success" in log, log[-6000:]


def test_datakit_test_suite_passes(container) -> None:
    code, out, err = run(container, "python", "-m", "pytest", "-q", "-p", "no:cacheprovider")
    assert code == 0, (out + err)[-6000:]
    assert " passed" in out and "skipped" not in out, out[-2000:]


def test_astro_parse_check_passes(container) -> None:
    """What `astro dev parse` runs: the project's .astro/test_dag_integrity_default.py."""
    code, out, err = run(
        container,
        "python",
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        ".astro/test_dag_integrity_default.py",
    )
    assert code == 0, (out + err)[-6000:]
