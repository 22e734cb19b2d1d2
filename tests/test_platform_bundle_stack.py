"""The platform's DAG bundle in the running Astro-shaped stack, observed through Airflow's REST
API: releases published with `adp dags publish` (a local release store, the embedded default,
mounted into the Airflow services) appear with no restart and no configuration change, every
run is pinned to the snapshot it started on, and a rollback brings the old release back. Git
repositories reach the same bundle through `adp repos`: added with no restart, a signed push
promoted through the webhook receiver, a commit with a secret refused while the last good DAG
keeps running.

The stack is the template datakit's (`astro dev start`'s compose file, rendered by adp.dev),
with one compose override: the store (and a folder of gate files the test DAG waits on)
mounted at the same path, and `dag_bundle_config_list` as `adp dags bundle-config` prints it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from adp.airflow_api import AirflowClient, DagRun
from adp.cli.main import app
from adp.repos.state import StateDir
from adp_test_servers.airflow_stack import (
    AIRFLOW_SERVICES,
    AirflowStack,
    release_store_override,
    running_airflow_stack,
)
from adp_test_servers.ports import free_port
from adp_test_servers.system import stop, wait_until_answers
from adp_test_servers.tools import project_tool
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


# -- git repositories: adp repos, the webhook receiver, the same bundle ------------------------
ORDERS_DAG = """\
from datetime import datetime

from airflow.sdk import dag, task

MARKER = "{marker}"


@dag(
    dag_id="orders_daily",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    description=MARKER,
    tags=["git-e2e"],
    default_args={{"owner": "orders-team", "retries": 1}},
)
def orders_daily():
    @task
    def report():
        return MARKER

    report()


orders_daily()
"""
HOOK_SECRET = "hook-" + "s3cr3t" * 5
LEAKED = "ghp_" + "Zq3" * 12  # a GitHub token's shape, made up: detect-secrets finds it


def git_in(work: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "Dana", "GIT_AUTHOR_EMAIL": "dana@example.com",
           "GIT_COMMITTER_NAME": "Dana", "GIT_COMMITTER_EMAIL": "dana@example.com",
           "GIT_CONFIG_GLOBAL": "/dev/null", "PATH": os.environ["PATH"]}  # fmt: skip
    done = subprocess.run(["git", *args], cwd=work, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def push_orders(work: Path, marker: str, extra: str = "") -> str:
    (work / "dags").mkdir(exist_ok=True)
    (work / "dags" / "orders_daily.py").write_text(ORDERS_DAG.format(marker=marker) + extra)
    git_in(work, "add", "-A")
    git_in(work, "commit", "--quiet", "-m", marker)
    git_in(work, "push", "--quiet", "origin", "main")
    return git_in(work, "rev-parse", "HEAD")


def github_push(url: str, sha: str, delivery: str, secret: str = HOOK_SECRET) -> httpx.Response:
    body = json.dumps({"ref": "refs/heads/main", "after": sha, "repository": {"name": "orders"}})
    signature = hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()
    headers = {"X-GitHub-Event": "push", "X-GitHub-Delivery": delivery,
               "X-Hub-Signature-256": f"sha256={signature}",
               "Content-Type": "application/json"}  # fmt: skip
    return httpx.post(f"{url}/hooks/orders", content=body, headers=headers, timeout=10)


def repo_state(config: Path) -> dict:
    out = CliRunner().invoke(app, ["repos", "status", "orders", "--json", "--config", str(config)])
    assert out.exit_code == 0, out.output
    return json.loads(out.stdout)["repositories"][0]


def wait_for(what: str, probe, timeout: float):
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        assert time.monotonic() < deadline, f"no {what} after {timeout} s"
        time.sleep(0.3)


@pytest.fixture
def receiver(tmp_path: Path, release_stack):
    """`adp repos serve` on loopback for an airflow-repos.yaml of the test's store."""
    stack, store, _ = release_stack
    origin, work = tmp_path / "orders.git", tmp_path / "orders"
    git_in(tmp_path, "init", "--quiet", "--bare", "--initial-branch", "main", str(origin))
    git_in(tmp_path, "init", "--quiet", "--initial-branch", "main", str(work))
    git_in(work, "remote", "add", "origin", str(origin))
    config = tmp_path / "airflow-repos.yaml"
    config.write_text(yaml.safe_dump({
        "release_store": {"bucket": str(store), "env": "dev"},
        "airflow": {"url": stack.url},
        "repositories": [],
    }))  # fmt: skip
    port = free_port()
    log = tmp_path / "serve.log"
    env = {**os.environ, "ORDERS_HOOK_SECRET": HOOK_SECRET}
    yield {"config": config, "origin": origin, "work": work, "port": port, "log": log,
           "env": env, "url": f"http://127.0.0.1:{port}"}  # fmt: skip


def test_git_repositories_reach_the_running_airflow_after_validation(
    release_stack, receiver
) -> None:
    stack, _, _ = release_stack
    api = stack.api
    before = started_at(stack)
    config, work = receiver["config"], receiver["work"]
    first = push_orders(work, "v1")

    # Add a repository: validated, promoted, published; listed with no restart.
    result = CliRunner().invoke(app, [
        "repos", "add", "orders", "--url", receiver["origin"].as_uri(), "--namespace", "orders",
        "--path", "dags", "--sync-interval", "1h", "--webhook-provider", "github",
        "--webhook-secret-env", "ORDERS_HOOK_SECRET", "--config", str(config),
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"orders: promoted none -> {first[:12]}" in result.output, result.output
    listed = api.wait_for_dag("orders_daily", timeout=90, interval=0.5)
    assert (listed["bundle_name"], listed["description"]) == (BUNDLE, "v1"), listed

    # The receiver: a signed push promotes the new commit; Airflow shows it in seconds.
    serve = subprocess.Popen(
        [project_tool("adp"), "repos", "serve", "--port", str(receiver["port"]),
         "--config", str(config)],
        env=receiver["env"], stdout=receiver["log"].open("w"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:

        def healthy() -> bool:
            try:
                return httpx.get(f"{receiver['url']}/healthz", timeout=2).status_code == 200
            except httpx.TransportError:
                return False  # not listening yet

        wait_until_answers(healthy, serve, "adp repos serve", receiver["log"], timeout=60)
        second = push_orders(work, "v2")
        pushed = time.monotonic()
        bad = github_push(receiver["url"], second, "d-forged", secret="not-the-secret")
        assert bad.status_code == 401, bad.text
        answer = github_push(receiver["url"], second, "d-1")
        assert answer.status_code == 202, answer.text
        assert github_push(receiver["url"], second, "d-1").status_code in (200, 202)  # replay

        def description() -> str | None:
            return api.request("GET", "/api/v2/dags/orders_daily").json()["description"]

        wait_for("v2 in Airflow", lambda: description() == "v2", timeout=90)
        print(f"push -> webhook -> promoted -> listed: {time.monotonic() - pushed:.1f} s")
        state = repo_state(config)
        assert (state["promoted"], state["release_current"]) == (second, second), state

        # A commit with a hardcoded secret: not promoted; the last good DAG keeps running.
        leaked = push_orders(work, "v3", extra=f'\nAPI_TOKEN = "{LEAKED}"\n')
        assert github_push(receiver["url"], leaked, "d-2").status_code == 202
        state = wait_for("the refusal", lambda: (s := repo_state(config))["refused"] and s,
                         timeout=90)  # fmt: skip
        assert state["promoted"] == second and state["release_current"] == second, state
        rules = {f["rule"] for f in state["refused"][0]["findings"]}
        assert "GitHubTokenDetector" in rules, state
        assert state["last_outcome"] == "refused", state
        api.unpause("orders_daily")
        run = api.trigger("orders_daily")
        assert api.wait_for_run(run, timeout=180).state == "success", stack.all_logs()
        assert description() == "v2"
        metrics = httpx.get(f"{receiver['url']}/metrics", timeout=5).text
    finally:
        stop(serve)
    log = receiver["log"].read_text()
    assert HOOK_SECRET not in log and LEAKED not in log, log
    actions = [(e["action"], e["commit"]) for e in StateDir(config.parent / ".adp-repos")
               .audit_entries("orders")]  # fmt: skip
    assert actions == [("add", None), ("promote", first), ("promote", second), ("refuse", leaked)]
    assert 'outcome="bad_signature"' in metrics and 'outcome="duplicate"' in metrics, metrics
    assert started_at(stack) == before  # no Airflow process restarted
    assert not api.import_errors()


# -- a package's CI writing the store directly ---------------------------------------------------
def test_a_package_writing_the_store_directly_cannot_take_another_packages_dag(
    release_stack, tmp_path
) -> None:
    """Issue 26: whoever may write one package's prefix can write files without `adp dags
    publish`. A release of package 'thief' defining 'victim_daily' is parsed by the running
    dag-processor with the platform's cluster policy (platform-cli's airflow.policy entry point,
    in the Layer-1 image): that file is an import error naming the rule, thief's own DAG is
    listed, and victim_daily stays victim's."""
    from adp.releases.local_store import LocalStore
    from adp.releases.pointer import retire
    from adp_test_helpers.dag_corpus import dag
    from adp_test_helpers.sync_support import publish_files

    stack, store, _ = release_stack
    api = stack.api
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "victim_daily.py").write_text(dag("victim_daily"))
    publish(store, "victim", victim, "1", stack.url)
    api.wait_for_dag("victim_daily", timeout=90, interval=0.5)
    publish_files(
        LocalStore(store), "dev", "thief", "1",
        {"thief_daily.py": dag("thief_daily").encode(), "steal.py": dag("victim_daily").encode()},
    )  # fmt: skip
    api.wait_for_dag("thief_daily", timeout=90, interval=0.5)
    errors = wait_for(
        "the policy's import error",
        lambda: [e for e in api.import_errors() if e["filename"].endswith("steal.py")],
        timeout=60,
    )
    message = errors[0]["stack_trace"]
    assert "DAG id 'victim_daily' is defined in a release of package 'thief'" in message, errors
    assert "may not define package 'victim''s DAG ids" in message, errors
    details = api.request("GET", "/api/v2/dags/victim_daily/details").json()
    assert details["relative_fileloc"] == "victim/victim_daily.py", details
    retire(LocalStore(store), "dev", "thief")
