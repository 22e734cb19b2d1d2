"""The example DAG's pod specs, rendered by Airflow's own tooling with no cluster:

- `airflow kubernetes generate-dag-yaml` (the KubernetesExecutor's pod for every task, with the
  task's executor_config pod_override merged in), and
- `KubernetesPodOperator.build_pod_request_obj(dry_run=True)` (the pod a KPO task launches).

Each runs in its own process with a throw-away AIRFLOW_HOME, so Airflow's configuration never
leaks into the test session.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from adp.images.config import load_config, source_tree

RUNTIME_ROOT = source_tree().runtime_root

if importlib.util.find_spec("airflow.providers.cncf.kubernetes") is None:
    pytest.skip(
        "needs apache-airflow and apache-airflow-providers-cncf-kubernetes", allow_module_level=True
    )

yaml = pytest.importorskip("yaml")

DAGS = RUNTIME_ROOT / "examples" / "dags"
DAG_ID = "runtime_images_example"
RUNTIME_UID = 50000


@pytest.fixture(scope="module")
def airflow_env(tmp_path_factory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("airflow-home")
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "KubernetesExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
    }
    for key in ("ADP_RUNTIME_IMAGE", "ADP_RUNTIME_VERSION"):
        env.pop(key, None)
    migrate = subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"], env=env, capture_output=True, text=True
    )
    assert migrate.returncode == 0, migrate.stdout[-2000:] + migrate.stderr[-2000:]
    return env


@pytest.fixture(scope="module")
def executor_pods(airflow_env, tmp_path_factory) -> dict[str, dict]:
    out = tmp_path_factory.mktemp("dag-yaml")
    proc = subprocess.run(
        [sys.executable, "-m", "airflow", "kubernetes", "generate-dag-yaml", DAG_ID,
         "--logical-date", "2026-01-02T00:00:00+00:00", "--output-path", str(out)],
        env=airflow_env, capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    pods = {}
    for path in (out / "airflow_yaml_output").glob("*.yml"):
        pod = yaml.safe_load(path.read_text())
        pods[pod["metadata"]["labels"]["task_id"]] = pod
    return pods


@pytest.fixture(scope="module")
def kpo_pods(airflow_env, tmp_path_factory) -> dict[str, dict]:
    out = tmp_path_factory.mktemp("kpo") / "pods.json"
    script = Path(__file__).with_name("render_kpo_pods.py")
    proc = subprocess.run(
        [sys.executable, str(script), str(DAGS), str(out)],
        env=airflow_env, capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 0, (
        proc.stdout[-2000:] + proc.stderr[-2000:] + (out.read_text() if out.exists() else "")
    )
    return {k.split(".", 1)[1]: v for k, v in json.loads(out.read_text())["pods"].items()}


def base_container(pod: dict) -> dict:
    (container,) = [c for c in pod["spec"]["containers"] if c["name"] == "base"]
    return container


def assert_non_root(pod: dict, container: dict) -> None:
    security = pod["spec"]["securityContext"]
    assert security["runAsNonRoot"] is True
    assert security["runAsUser"] == RUNTIME_UID
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]


def test_example_dag_defaults_match_images_env() -> None:
    """The DAG's default image references are what `make images` tags (no drift)."""
    config = load_config(environ={})
    text = (DAGS / "runtime_images_example.py").read_text()
    assert f'"ADP_RUNTIME_IMAGE", "{config.image_name()}"' in text
    assert f'"ADP_RUNTIME_VERSION", "{config.version}"' in text


def test_pod_override_task_runs_in_the_airflow_runner_image(executor_pods) -> None:
    pod = executor_pods["summarise"]
    container = base_container(pod)
    assert container["image"] == load_config(environ={}).tag_for("airflow-runner")
    # The executor's own command survives the override: the container runs Airflow's task
    # runner, which is why this image must hold the scheduler's Airflow version.
    assert "airflow.sdk.execution_time.execute_workload" in container["args"]
    assert_non_root(pod, container)


def test_kpo_tasks_executor_pods_keep_the_default_image(executor_pods) -> None:
    """Without a pod_override, a KPO task's own worker pod is not given a runtime image."""
    for task_id in ("dbt_build", "sqlserver_extract"):
        container = base_container(executor_pods[task_id])
        assert "runtime" not in container.get("image", "")


def test_dbt_pod(kpo_pods) -> None:
    pod = kpo_pods["dbt_build"]
    container = base_container(pod)
    assert container["image"] == load_config(environ={}).tag_for("dbt-runner")
    assert container["command"] == ["dbt"]
    assert container["args"][0] == "build"
    assert_non_root(pod, container)
    # profiles.yml comes from a Kubernetes secret, mounted read-only: no credential in the DAG.
    (secret_volume,) = [v for v in pod["spec"]["volumes"] if "secret" in v]
    assert secret_volume["secret"]["secretName"] == "dbt-profiles"
    assert {"mountPath": "/secrets/dbt", "name": secret_volume["name"], "readOnly": True} in (
        container["volumeMounts"]
    )
    assert not [e for e in container["env"] if "PASSWORD" in e["name"]]


def test_sqlserver_pod_mounts_the_shared_ticket_read_only(kpo_pods) -> None:
    pod = kpo_pods["sqlserver_extract"]
    container = base_container(pod)
    assert container["image"] == load_config(environ={}).tag_for("sqlserver-runner")
    assert_non_root(pod, container)
    (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == "/krb5/cache"]
    assert mount["readOnly"] is True
    (volume,) = [v for v in pod["spec"]["volumes"] if v["name"] == mount["name"]]
    assert volume["persistentVolumeClaim"] == {
        "claimName": "platform-kerberos-cache",
        "readOnly": True,
    }
