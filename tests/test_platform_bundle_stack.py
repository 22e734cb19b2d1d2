"""The platform's DAG bundle in the running Astro-shaped stack, observed through Airflow's REST
API: releases published with `adp dags publish` (a local release store, the embedded default,
mounted into the Airflow services) appear with no restart and no configuration change, every
run is pinned to the snapshot it started on, and a rollback brings the old release back.

The stack is the template datakit's (`astro dev start`'s compose file, rendered by adp.dev),
with one compose override: the store (and a folder of gate files the test DAG waits on)
mounted at the same path, and `dag_bundle_config_list` as `adp dags bundle-config` prints it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from adp.cli.main import app
from adp.dev.api import AirflowClient, DagRun
from adp_test_servers.airflow_stack import (
    AIRFLOW_SERVICES,
    AirflowStack,
    release_store_override,
    running_airflow_stack,
)
from typer.testing import CliRunner

pytestmark = [pytest.mark.docker, pytest.mark.slow]

BUNDLE = "adp-dev"
PINNED_DAG = '''\
"""Waits for a gate file named by the run's conf, then reports the release it was loaded from."""

import time
from datetime import datetime
from pathlib import Path

from airflow.sdk import dag, task

RELEASE = "{release}"
GATES = "{gates}"


@dag(
    dag_id="sales_pinned",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    tags=["release-e2e"],
    default_args={{"owner": "data-team", "retries": 1}},
)
def sales_pinned():
    @task
    def wait_for_gate(dag_run=None):
        gate = Path(GATES) / dag_run.conf["gate"]
        deadline = time.monotonic() + 300
        while not gate.exists():
            if time.monotonic() > deadline:
                raise TimeoutError(gate)
            time.sleep(0.5)
        return RELEASE

    @task
    def report(waited):
        from sales import release_notes  # the release's own module: <package>.<module>

        return {{"loaded": RELEASE, "waited": waited, "module": release_notes.RELEASE}}

    report(wait_for_gate())


sales_pinned()
'''
NEW_PACKAGE_DAG = """\
from datetime import datetime

from airflow.sdk import dag, task


@dag(
    dag_id="billing_daily",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    tags=["release-e2e"],
    default_args={"owner": "billing-team", "retries": 1},
)
def billing_daily():
    @task
    def count():
        return 1

    count()


billing_daily()
"""


def write_sales(folder: Path, release: str, gates: Path) -> None:
    """Package sales at `release`: the gated DAG and a module of its own it imports."""
    (folder / "sales_pinned.py").write_text(PINNED_DAG.format(release=release, gates=gates))
    (folder / "release_notes.py").write_text(f'RELEASE = "{release}"\n')


def adp(*args: str) -> str:
    result = CliRunner().invoke(app, ["dags", *args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def release_stack(request, tmp_path_factory) -> Iterator[tuple[AirflowStack, Path, Path]]:
    root = tmp_path_factory.mktemp("release-store")
    root.chmod(0o755)
    store, gates = root / "store", root / "gates"
    gates.mkdir()  # the test DAG's gate files, read by its tasks
    override = release_store_override(store, "dev", mounts=[f"{gates}:{gates}:ro"])
    extra = root / "release-store.override.yml"
    extra.write_text(yaml.safe_dump(override))
    datakit = request.getfixturevalue("template_datakit")
    image = request.getfixturevalue("template_datakit_image")
    client = request.getfixturevalue("docker_client")
    state = tmp_path_factory.mktemp("stack-releases")
    with running_airflow_stack(datakit, image, state, client=client, extra_files=[extra]) as stack:
        yield stack, store, gates


def started_at(stack: AirflowStack) -> dict[str, str]:
    return {s: stack.container(s).attrs["State"]["StartedAt"] for s in AIRFLOW_SERVICES}


def bundle_version(api: AirflowClient, dag_id: str) -> str | None:
    return api.request("GET", f"/api/v2/dags/{dag_id}/details").json().get("bundle_version")


def wait_for_version_change(api: AirflowClient, dag_id: str, old: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while True:
        version = bundle_version(api, dag_id)
        if version and version != old:
            return version
        assert time.monotonic() < deadline, f"{dag_id} still on {old} after {timeout} s"
        time.sleep(0.5)


def run_info(api: AirflowClient, run: DagRun) -> dict:
    return api.request("GET", f"/api/v2/dags/{run.dag_id}/dagRuns/{run.run_id}").json()


def wait_task_running(api: AirflowClient, run: DagRun, task_id: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        states = {t["task_id"]: t["state"] for t in api.task_instances(run)}
        if states.get(task_id) == "running":
            return
        assert time.monotonic() < deadline, f"{task_id} of {run.run_id}: {states}"
        time.sleep(0.5)


def reported(api: AirflowClient, run: DagRun) -> dict:
    answer = api.request(
        "GET",
        f"/api/v2/dags/{run.dag_id}/dagRuns/{run.run_id}/taskInstances/report"
        "/xcomEntries/return_value",
        params={"deserialize": True},
    ).json()
    value = answer["value"]
    return json.loads(value) if isinstance(value, str) else value


def publish(store: Path, package: str, folder: Path, version: str, url: str) -> str:
    return adp(
        "publish", "--bucket", str(store), "--env", "dev", "--package", package,
        "--path", str(folder), "--version", version, "--airflow-url", url,
    )  # fmt: skip


def test_releases_reach_the_running_airflow_pinned_per_run(release_stack, tmp_path) -> None:
    stack, store, gates = release_stack
    api = stack.api
    before = started_at(stack)

    # A new package: listed through the REST API with no restart and no configuration change.
    billing = tmp_path / "billing"
    billing.mkdir()
    (billing / "billing_daily.py").write_text(NEW_PACKAGE_DAG)
    out = publish(store, "billing", billing, "1", stack.url)
    published = time.monotonic()
    assert "has no DAG yet" in out, out  # nothing to poke: the refresh interval brings it
    listed = api.wait_for_dag("billing_daily", timeout=90, interval=0.5)
    print(f"new package listed {time.monotonic() - published:.1f} s after its publish")
    assert listed["bundle_name"] == BUNDLE, listed

    # The package under test, v1; its publish asks Airflow to re-parse.
    sales = tmp_path / "sales"
    sales.mkdir()
    write_sales(sales, "v1", gates)
    out = publish(store, "sales", sales, "v1", stack.url)
    published = time.monotonic()
    assert "asked Airflow to refresh bundle adp-dev" in out, out
    api.wait_for_dag("sales_pinned", timeout=90, interval=0.5)
    print(f"second package listed {time.monotonic() - published:.1f} s after its publish")
    api.unpause("sales_pinned")
    first_snapshot = bundle_version(api, "sales_pinned")
    assert first_snapshot and len(first_snapshot) == 64, first_snapshot

    # A run starts on v1 and waits at its gate while v2 is published and parsed.
    run_a = api.trigger("sales_pinned", conf={"gate": "a"})
    wait_task_running(api, run_a, "wait_for_gate", timeout=120)
    write_sales(sales, "v2", gates)
    publish(store, "sales", sales, "v2", stack.url)
    second_snapshot = wait_for_version_change(api, "sales_pinned", first_snapshot, timeout=60)
    run_b = api.trigger("sales_pinned", conf={"gate": "b"})
    (gates / "a").touch()
    (gates / "b").touch()
    for run in (run_a, run_b):
        assert api.wait_for_run(run, timeout=180).state == "success", stack.all_logs()
    assert run_info(api, run_a)["bundle_version"] == first_snapshot
    assert run_info(api, run_b)["bundle_version"] == second_snapshot
    # run A's second task started after v2 was live, and still ran v1's code
    assert reported(api, run_a) == {"loaded": "v1", "waited": "v1", "module": "v1"}
    assert reported(api, run_b) == {"loaded": "v2", "waited": "v2", "module": "v2"}

    # Rollback: the old release is back for the next run.
    out = adp("rollback", "--bucket", str(store), "--env", "dev", "--package", "sales",
              "--to", "v1", "--airflow-url", stack.url)  # fmt: skip
    assert "dev/sales current: v2 -> v1" in out, out
    third_snapshot = wait_for_version_change(api, "sales_pinned", second_snapshot, timeout=60)
    (gates / "c").touch()
    run_c = api.trigger("sales_pinned", conf={"gate": "c"})
    assert api.wait_for_run(run_c, timeout=180).state == "success", stack.all_logs()
    assert run_info(api, run_c)["bundle_version"] == third_snapshot
    assert reported(api, run_c) == {"loaded": "v1", "waited": "v1", "module": "v1"}

    # Both packages stayed listed the whole time, and no Airflow process was restarted.
    dags = {d["dag_id"] for d in api.dags()}
    assert {"billing_daily", "sales_pinned"} <= dags, dags
    assert started_at(stack) == before
    assert not api.import_errors()
