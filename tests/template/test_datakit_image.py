"""A generated datakit builds FROM the real Layer-1 image and runs in a real Airflow.

The datakit (session fixture `template_datakit_image`) is built by the Layer-1 ONBUILD
triggers, from a bare `FROM`. Airflow is the multi-service stack `astro dev start`
creates (postgres, db-migration, scheduler, dag-processor, api-server, triggerer), in
both compose shapes of the Astro CLI, driven only through Airflow's REST API: the DAGs
are listed without import errors, a triggered run of the example succeeds, and a DAG
file saved into the mounted dags/ folder appears without a restart. The datakit's own
test suites run inside the image, as `astro dev pytest` runs them.
"""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import pytest
from adp_test_servers.airflow_stack import AirflowStack

from conftest import TEMPLATE_DATAKIT

pytestmark = [pytest.mark.docker, pytest.mark.slow]

PACKAGE = TEMPLATE_DATAKIT.replace("-", "_")


@pytest.fixture(scope="module", params=["astro", "astro-v1"])
def stack(request) -> AirflowStack:
    """The running stack of each compose shape (started once per session)."""
    return request.getfixturevalue(
        "airflow_stack" if request.param == "astro" else "airflow_stack_v1"
    )


@pytest.fixture(scope="module")
def container(template_datakit_image: str, docker_client):
    """One plain container of the datakit image, for `astro dev pytest`-style checks."""
    box = docker_client.containers.run(
        template_datakit_image,
        ["sleep", "infinity"],
        detach=True,
        environment={"ASTRONOMER_ENVIRONMENT": "local"},
        network_mode="none",
    )
    try:
        yield box
    finally:
        box.remove(force=True)


def run(box, *command: str) -> tuple[int, str, str]:
    code, (out, err) = box.exec_run(list(command), demux=True)
    return code, (out or b"").decode(errors="replace"), (err or b"").decode(errors="replace")


def test_dockerfile_is_a_bare_from(template_datakit: Path, layer1_image: str) -> None:
    lines = [
        line
        for line in (template_datakit / "Dockerfile").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines == [f"FROM {layer1_image}"]


def test_project_is_in_the_image_as_astro(container) -> None:
    code, out, _ = run(container, "bash", "-c", "id -un; pwd; ls dags tests/dags")
    assert code == 0
    assert out.splitlines()[:2] == ["astro", "/usr/local/airflow"]
    assert f"{PACKAGE}_example.py" in out and "test_dag_integrity.py" in out


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


def test_dags_are_listed_without_import_errors(stack: AirflowStack) -> None:
    stack.api.wait_for_dag(f"{PACKAGE}_example", timeout=120)
    stack.api.wait_for_dag(f"{PACKAGE}_runtime_images", timeout=60)
    dag_ids = {dag["dag_id"] for dag in stack.api.dags()}
    assert dag_ids == {f"{PACKAGE}_example", f"{PACKAGE}_runtime_images"}
    assert stack.api.import_errors() == []


def test_triggered_example_run_succeeds(stack: AirflowStack) -> None:
    dag_id = f"{PACKAGE}_example"
    stack.api.wait_for_dag(dag_id, timeout=120)
    stack.api.unpause(dag_id)
    run_ = stack.api.wait_for_run(stack.api.trigger(dag_id), timeout=240)
    tasks = {t["task_id"]: t["state"] for t in stack.api.task_instances(run_)}
    assert run_.state == "success", f"{tasks}\n{stack.all_logs()}"
    assert tasks == {"extract": "success", "validate": "success", "load": "success"}
    # The task really ran in this stack and wrote its log where the image keeps logs.
    log = stack.api.task_log(run_, "load")
    assert "Using the local SQLite database" in log, log[-3000:]


def test_every_airflow_service_runs_the_datakit_image(stack: AirflowStack) -> None:
    for service in ("scheduler", "dag-processor", "api-server", "triggerer"):
        code, out = stack.exec(service, "bash", "-c", "id -un; test -w logs && echo writable")
        assert code == 0 and out.split() == ["astro", "writable"], f"{service}: {out}"


def test_a_saved_dag_file_appears_without_a_restart(
    airflow_stack: AirflowStack, template_datakit: Path
) -> None:
    """dags/ is bind-mounted: a new file is parsed by the running dag-processor."""
    dag_id = f"{PACKAGE}_saved_{int(time.time())}"
    path = template_datakit / "dags" / f"{dag_id}.py"
    path.write_text(
        textwrap.dedent(
            f'''
            from datetime import datetime

            from airflow.sdk import dag, task


            @dag(dag_id="{dag_id}", schedule=None, start_date=datetime(2025, 1, 1),
                 tags=["test"], default_args={{"owner": "tests", "retries": 1}})
            def saved():
                @task
                def hello():
                    return "hello"

                hello()


            saved()
            '''
        )
    )
    try:
        started = airflow_stack.container("scheduler").attrs["State"]["StartedAt"]
        airflow_stack.api.wait_for_dag(dag_id, timeout=90)
        airflow_stack.container("scheduler").reload()
        assert airflow_stack.container("scheduler").attrs["State"]["StartedAt"] == started
    finally:
        path.unlink()
