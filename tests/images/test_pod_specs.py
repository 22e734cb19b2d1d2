"""The runtime-images DAG that datakits get (the template's
`dags/<package>_runtime_images.py`, rendered by Copier with runtime_images=yes and the
defaults): its pod specs, rendered by Airflow's own tooling with no cluster:

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
from dataclasses import replace
from pathlib import Path

import pytest
from adp.images.config import ImageConfig, load_config, source_tree

if importlib.util.find_spec("airflow.providers.cncf.kubernetes") is None:
    pytest.skip(
        "needs apache-airflow and apache-airflow-providers-cncf-kubernetes", allow_module_level=True
    )

yaml = pytest.importorskip("yaml")

# The tree under test (adp may be installed from another checkout).
TREE = source_tree(Path(__file__).resolve().parents[2])
DATAKIT = "pod-specs"
DAG_ID = "pod_specs_runtime_images"
RUNTIME_UID = 50000
# What a deployment sets to point the DAG at its registry; unset here: the template's defaults.
RUNTIME_ENV = ("ADP_RUNTIME_REGISTRY", "ADP_RUNTIME_REPOSITORY", "ADP_RUNTIME_VERSION")


def images_config() -> ImageConfig:
    """What `adp images` tags with images.env and facts.env alone."""
    return load_config(environ={}, tree=TREE)


@pytest.fixture(scope="module")
def dags(tmp_path_factory, template_repo, render) -> Path:
    """The dags/ folder of a datakit made with the template's defaults and runtime images."""
    project = render(
        template_repo,
        tmp_path_factory.mktemp("datakit") / DATAKIT,
        datakit_name=DATAKIT,
        runtime_images=True,
        example_dag=False,
    )
    assert (project / "dags" / f"{DAG_ID}.py").is_file()
    return project / "dags"


@pytest.fixture(scope="module")
def airflow_env(dags, tmp_path_factory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("airflow-home")
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "KubernetesExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
    }
    for key in RUNTIME_ENV:
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


def render_kpo_pods(dags: Path, env: dict[str, str], out: Path) -> dict[str, dict]:
    """{task_id: pod} of the DAG's KubernetesPodOperator tasks (render_kpo_pods.py)."""
    script = Path(__file__).with_name("render_kpo_pods.py")
    proc = subprocess.run(
        [sys.executable, str(script), str(dags), str(out)],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 0, (
        proc.stdout[-2000:] + proc.stderr[-2000:] + (out.read_text() if out.exists() else "")
    )
    pods = json.loads(out.read_text())["pods"]
    assert {key.split(".", 1)[0] for key in pods} == {DAG_ID}
    return {key.split(".", 1)[1]: pod for key, pod in pods.items()}


@pytest.fixture(scope="module")
def kpo_pods(dags, airflow_env, tmp_path_factory) -> dict[str, dict]:
    return render_kpo_pods(dags, airflow_env, tmp_path_factory.mktemp("kpo") / "pods.json")


def base_container(pod: dict) -> dict:
    (container,) = [c for c in pod["spec"]["containers"] if c["name"] == "base"]
    return container


def assert_non_root(pod: dict, container: dict) -> None:
    security = pod["spec"]["securityContext"]
    assert security["runAsNonRoot"] is True
    assert security["runAsUser"] == RUNTIME_UID
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]


def test_pod_override_task_runs_in_the_airflow_runner_image(executor_pods) -> None:
    pod = executor_pods["summarise"]
    container = base_container(pod)
    assert container["image"] == images_config().tag_for("airflow-runner")
    # The executor's own command survives the override: the container runs Airflow's task
    # runner, which is why this image must hold the scheduler's Airflow version.
    assert "airflow.sdk.execution_time.execute_workload" in container["args"]
    assert_non_root(pod, container)


def test_kpo_tasks_executor_pods_keep_the_default_image(executor_pods) -> None:
    """Without a pod_override, a KPO task's own worker pod is not given a runtime image."""
    runtime_images = f"{images_config().image_name()}:"
    for task_id in ("dbt_build", "sqlserver_job"):
        container = base_container(executor_pods[task_id])
        assert not container.get("image", "").startswith(runtime_images)


def test_dbt_pod(kpo_pods) -> None:
    pod = kpo_pods["dbt_build"]
    container = base_container(pod)
    assert container["image"] == images_config().tag_for("dbt-runner")
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
    pod = kpo_pods["sqlserver_job"]
    container = base_container(pod)
    assert container["image"] == images_config().tag_for("sqlserver-runner")
    assert_non_root(pod, container)
    (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == "/krb5/cache"]
    assert mount["readOnly"] is True
    (volume,) = [v for v in pod["spec"]["volumes"] if v["name"] == mount["name"]]
    assert volume["persistentVolumeClaim"] == {
        "claimName": "platform-kerberos-cache",
        "readOnly": True,
    }


def test_a_deployment_points_the_images_elsewhere(dags, airflow_env, tmp_path) -> None:
    """ADP_RUNTIME_* in the scheduler's environment override the defaults, registry included."""
    deployment = replace(
        images_config(), registry="registry.example.com/data", repo="runtimes", version="9.1.0"
    )
    env = {
        **airflow_env,
        "ADP_RUNTIME_REGISTRY": deployment.registry,
        "ADP_RUNTIME_REPOSITORY": deployment.repo,
        "ADP_RUNTIME_VERSION": deployment.version,
    }
    pods = render_kpo_pods(dags, env, tmp_path / "pods.json")
    assert base_container(pods["dbt_build"])["image"] == (
        "registry.example.com/data/runtimes:dbt-runner-9.1.0"
    )
    for task_id, runtime_type in (
        ("dbt_build", "dbt-runner"),
        ("sqlserver_job", "sqlserver-runner"),
    ):
        assert base_container(pods[task_id])["image"] == deployment.tag_for(runtime_type)
