"""The library behind `adp dev` against the running Astro-shaped stack (session fixture):
airflow_settings.yaml lands in Airflow through the REST API and a second import changes
nothing; a run triggered with a conf (`adp dev trigger --conf`) carries it; status reports
every service and Airflow's health; secrets stay out of the containers' view of the
project."""

from __future__ import annotations

from pathlib import Path

import pytest
from adp.dev import airflow_settings, postgres, secrets
from adp.dev import stack as stack_lib
from adp.dev.errors import DevError
from adp_test_servers.airflow_stack import AirflowStack

from conftest import TEMPLATE_DATAKIT

pytestmark = [pytest.mark.docker, pytest.mark.slow]

SETTINGS = """
airflow:
  connections:
    - conn_id: settings_test_pg
      conn_type: postgres
      conn_host: db.example.invalid
      conn_schema: analytics
      conn_login: reader
      conn_port: 5432
      conn_extra:
        sslmode: require
  pools:
    - pool_name: settings_test_pool
      pool_slot: 3
      pool_description: from airflow_settings.yaml
  variables:
    - variable_name: settings_test_var
      variable_value: {"a": 1}
"""


def test_airflow_settings_are_imported_and_reimport_is_idempotent(
    airflow_stack: AirflowStack, tmp_path: Path
) -> None:
    path = tmp_path / "airflow_settings.yaml"
    path.write_text(SETTINGS)
    settings = airflow_settings.load(path)
    api = airflow_stack.api
    for _ in range(2):  # the second run updates what exists
        assert airflow_settings.apply(api, settings) == {
            "connections": 1,
            "pools": 1,
            "variables": 1,
        }
    conn = api.request("GET", "/api/v2/connections/settings_test_pg").json()
    assert (conn["host"], conn["schema"], conn["login"], conn["port"]) == (
        "db.example.invalid",
        "analytics",
        "reader",
        5432,
    )
    assert '"sslmode": "require"' in conn["extra"]
    pool = api.request("GET", "/api/v2/pools/settings_test_pool").json()
    assert pool["slots"] == 3
    variable = api.request("GET", "/api/v2/variables/settings_test_var").json()
    assert variable["value"] == '{"a": 1}'


def test_status_reports_every_service_and_health(airflow_stack: AirflowStack) -> None:
    report = stack_lib.status(airflow_stack.stack, airflow_stack.client)
    assert report["services"] == {
        "api-server": "running",
        "dag-processor": "running",
        "db-migration": "exited (0)",
        "postgres": "running",
        "scheduler": "running",
        "triggerer": "running",
    }
    assert report["health"] == {
        "metadatabase": "healthy",
        "scheduler": "healthy",
        "triggerer": "healthy",
        "dag_processor": "healthy",
    }
    assert report["url"].startswith("http://localhost:")


def test_one_jwt_secret_is_shared_and_none_is_in_the_project(airflow_stack: AirflowStack) -> None:
    values = secrets.read(airflow_stack.stack.state_dir / secrets.FILE_NAME)
    jwt = values["AIRFLOW__API_AUTH__JWT_SECRET"]
    for service in ("scheduler", "dag-processor", "api-server", "triggerer"):
        code, out = airflow_stack.exec(service, "printenv", "AIRFLOW__API_AUTH__JWT_SECRET")
        assert code == 0 and out.strip() == jwt, service
    project = airflow_stack.stack.datakit.root
    for file in project.rglob("*"):
        if file.is_file():
            text = file.read_text(errors="ignore")
            assert all(v not in text for v in values.values()), file
    assert all(v not in airflow_stack.stack.compose_file.read_text() for v in values.values())


def test_image_postgres_wins_and_an_unusable_one_is_named(airflow_stack: AirflowStack) -> None:
    """IMAGE_POSTGRES (a company's mirror) is used as given; one that is neither here nor
    pullable is refused naming the variable. (The offline image exists by now: the
    session's stacks run on it.)"""
    client = airflow_stack.client
    resolve = postgres.resolve_postgres_image
    assert resolve(client, postgres.OFFLINE_IMAGE, "unused", None) == postgres.OFFLINE_IMAGE
    with pytest.raises(DevError) as refused:
        resolve(client, "registry.invalid/library/postgres:15", "unused", None)
    assert "IMAGE_POSTGRES=registry.invalid/library/postgres:15" in str(refused.value)
    assert "unset it to build one offline" in str(refused.value)
    with pytest.raises(DevError) as no_base:
        postgres.build_offline(client, "adp-no-such-base:0", None)
    assert "make base" in str(no_base.value) and "IMAGE_POSTGRES" in str(no_base.value)


def test_a_triggered_run_carries_its_conf(airflow_stack: AirflowStack) -> None:
    """What `adp dev trigger DAG_ID --conf JSON` runs: the object is the run's conf."""
    dag_id = f"{TEMPLATE_DATAKIT.replace('-', '_')}_example"
    conf = {"day": "2024-01-31", "tables": ["orders", "customers"], "full": True}
    run, tasks = stack_lib.run_dag(airflow_stack.url, dag_id, 240, conf=conf)
    assert run.state == "success", f"{tasks}\n{airflow_stack.all_logs()}"
    stored = airflow_stack.api.request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run.run_id}")
    assert stored.json()["conf"] == conf
