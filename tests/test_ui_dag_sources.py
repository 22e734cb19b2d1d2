"""The "DAG sources" page (adp.ui) in the running Astro-shaped stack, driven in headless
Chromium (Debian's, through Playwright) inside the Airflow UI, with real sources: a package
published with `adp dags publish`, and two git repositories added with `adp repos add` in
the api-server (the promoter runs where the page runs). "Sync now", "Approve" and "Roll back"
change what Airflow runs, observed through its REST API; a viewer sees no action and every
action endpoint refuses them. Screenshots are kept in $ADP_TEST_ARTIFACTS (default
test-artifacts/) under ui/.

The stack's auth manager has users (the simple auth manager with all-admins off): admin
(role Admin) and viewer (role Viewer), whose passwords are in a file of the mounted folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from adp.airflow_api import AirflowClient
from adp.cli.main import app
from adp.repos.state import StateDir
from adp_test_servers.airflow_stack import (
    AIRFLOW_SERVICES,
    AirflowStack,
    release_store_override,
    running_airflow_stack,
)
from typer.testing import CliRunner

pytestmark = [pytest.mark.docker, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(os.environ.get("ADP_TEST_ARTIFACTS", REPO / "test-artifacts")) / "ui"
CHROMIUM = "/usr/bin/chromium"
ASTRO_UID = 50000  # the image's user astro (uid 50000, group 0)
PASSWORDS = {"admin": "admin-" + "pw" * 8, "viewer": "viewer-" + "pw" * 8}
LEAKED = "ghp_" + "Zq3" * 12  # a GitHub token's shape, made up: detect-secrets finds it
HEADER = {"X-Requested-By": "adp-dag-sources"}
DAG = """\
from datetime import datetime

from airflow.sdk import dag, task


@dag(
    dag_id="{dag_id}",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    description="{marker}",
    tags=["ui-e2e"],
    default_args={{"owner": "data-team", "retries": 1}},
)
def {dag_id}():
    @task
    def report():
        return "{marker}"

    report()


{dag_id}()
"""


def git_in(work: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "Dana", "GIT_AUTHOR_EMAIL": "dana@example.com",
           "GIT_COMMITTER_NAME": "Dana", "GIT_COMMITTER_EMAIL": "dana@example.com",
           "GIT_CONFIG_GLOBAL": "/dev/null", "PATH": os.environ["PATH"]}  # fmt: skip
    done = subprocess.run(["git", *args], cwd=work, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def hand_to(path: Path, uid: int = ASTRO_UID) -> None:
    """The repositories are read by user astro in the stack, and pushed to by root here (git
    refuses a repository another user owns)."""
    for item in [path, *path.rglob("*")]:
        os.chown(item, uid, 0, follow_symlinks=False)


class Origin:
    """A bare repository (the "remote") and a work tree pushing to it."""

    def __init__(self, root: Path, name: str) -> None:
        self.name, self.dag_id = name, f"{name}_daily"
        self.bare, self.work = root / f"{name}.git", root.parent / f"{name}-work"
        git_in(root, "init", "--quiet", "--bare", "--initial-branch", "main", str(self.bare))
        git_in(root, "init", "--quiet", "--initial-branch", "main", str(self.work))
        git_in(self.work, "remote", "add", "origin", str(self.bare))

    def push(self, marker: str, extra: str = "") -> str:
        (self.work / "dags").mkdir(exist_ok=True)
        text = DAG.format(dag_id=self.dag_id, marker=marker) + extra
        (self.work / "dags" / f"{self.dag_id}.py").write_text(text)
        git_in(self.work, "add", "-A")
        git_in(self.work, "commit", "--quiet", "-m", f"{self.name} {marker}")
        hand_to(self.bare, 0)
        git_in(self.work, "push", "--quiet", "origin", "main")
        hand_to(self.bare)
        return git_in(self.work, "rev-parse", "HEAD")


def publish(store: Path, folder: Path, version: str) -> None:
    (folder / "billing_daily.py").write_text(DAG.format(dag_id="billing_daily", marker=version))
    result = CliRunner().invoke(app, [
        "dags", "publish", "--bucket", str(store), "--env", "dev", "--package", "billing",
        "--path", str(folder), "--version", version,
    ])  # fmt: skip
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def ui(request, tmp_path_factory) -> Iterator[dict]:
    root = tmp_path_factory.mktemp("ui-sources")
    root.chmod(0o755)
    store, repos = root / "store", root / "repos"
    repos.mkdir()
    passwords = repos / "passwords.json"  # the auth manager opens it for writing too
    passwords.write_text(json.dumps(PASSWORDS))
    config = repos / "airflow-repos.yaml"
    config.write_text(yaml.safe_dump({
        "release_store": {"bucket": str(store), "env": "dev"}, "repositories": [],
    }))  # fmt: skip
    origins = {name: Origin(repos, name) for name in ("orders", "reports")}
    override = release_store_override(store, "dev", mounts=[f"{repos}:{repos}"])
    users = ",".join(f"{name}:{name}" for name in PASSWORDS)  # user admin: Admin, viewer: Viewer
    for service in AIRFLOW_SERVICES:
        override["services"][service]["environment"].update({
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": users,
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
            "ADP_REPOS_CONFIG": str(config),
        })  # fmt: skip
    extra = root / "ui.override.yml"
    extra.write_text(yaml.safe_dump(override))
    billing = root / "billing"
    billing.mkdir()
    publish(store, billing, "v1")
    publish(store, billing, "v2")
    hand_to(repos)
    hand_to(store)  # the page's rollback (in the api-server, user astro) moves its pointer
    datakit = request.getfixturevalue("template_datakit")
    image = request.getfixturevalue("template_datakit_image")
    client = request.getfixturevalue("docker_client")
    state = tmp_path_factory.mktemp("stack-ui")
    login = ("admin", PASSWORDS["admin"])
    with running_airflow_stack(
        datakit, image, state, client=client, extra_files=[extra], login=login
    ) as stack:
        # The repositories are added where the page runs: the promoter's mirrors and state
        # are the api-server's (user astro). orders deploys once validated; reports waits
        # for approval.
        commits = {"orders": origins["orders"].push("v1"), "reports": origins["reports"].push("r1")}
        for name, extra_args in (("orders", []), ("reports", ["--no-auto-deploy"])):
            out = adp_in_api_server(
                stack, "repos", "add", name, "--url", origins[name].bare.as_uri(),
                "--namespace", name, "--path", "dags", "--sync-interval", "1h",
                "--config", str(config), "--actor", "setup", *extra_args,
            )  # fmt: skip
            assert commits[name][:12] in out, out
        yield {"stack": stack, "store": store, "config": config, "origins": origins,
               "commits": commits}  # fmt: skip


@pytest.fixture(scope="module")
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


def signed_in(browser, stack: AirflowStack, user: str):
    """A page of a new browser context, signed in through Airflow's login form and on the
    "DAG sources" entry of the UI (the plugin's page in the UI's frame)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1100})
    page = context.new_page()
    page.goto(f"{stack.url}/plugin/dag-sources")
    page.wait_for_url("**/auth/login**", timeout=60_000)
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORDS[user])
    page.click("button[type=submit]")
    page.wait_for_url("**/plugin/dag-sources", timeout=60_000)
    return page


def frame(page):
    return page.frame_locator("iframe").first


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def description(stack: AirflowStack, dag_id: str) -> str | None:
    answer = stack.api.request("GET", f"/api/v2/dags/{dag_id}", ok=(404,))
    return answer.json().get("description") if answer.status_code == 200 else None


def wait_for(what: str, probe, timeout: float = 90):
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        assert time.monotonic() < deadline, f"no {what} after {timeout} s"
        time.sleep(0.5)


def reload(page) -> None:
    """The frame's own Reload link (the UI's frame keeps its URL)."""
    frame(page).get_by_test_id("reload").click()
    frame(page).get_by_test_id("user").wait_for()


def wait_result(page, expected: str) -> str:
    """The action's answer, shown once the page has reloaded after it."""
    from playwright.sync_api import expect

    box = frame(page).get_by_test_id("result")
    expect(box).to_contain_text(expected, timeout=120_000)
    return box.inner_text()


def repository(page, name: str):
    return frame(page).locator(f"[data-testid=repository][data-name={name}]")


def adp_in_api_server(stack: AirflowStack, *args: str) -> str:
    code, output = stack.exec("api-server", "adp", *args)
    assert code == 0, output
    return output


def test_the_page_shows_the_sources_and_its_actions_change_what_airflow_runs(ui, browser) -> None:
    stack, config, origins = ui["stack"], ui["config"], ui["origins"]
    orders = origins["orders"]
    v1, r1 = ui["commits"]["orders"], ui["commits"]["reports"]
    wait_for("orders v1 in Airflow", lambda: description(stack, "orders_daily") == "v1")
    wait_for("billing v2 in Airflow", lambda: description(stack, "billing_daily") == "v2")
    assert description(stack, "reports_daily") is None  # not approved yet

    page = signed_in(browser, stack, "admin")
    inner = frame(page)
    inner.get_by_test_id("environment").wait_for()
    row = repository(page, "orders")
    assert row.get_by_test_id("promoted").get_attribute("data-sha") == v1
    assert row.get_by_test_id("running").get_attribute("data-sha") == v1
    assert "orders_daily" in row.get_by_test_id("running").inner_text()
    assert "ago" in row.get_by_test_id("last-sync").inner_text()
    pending = repository(page, "reports").get_by_test_id("pending-commit")
    assert pending.get_attribute("data-sha") == r1
    billing = inner.locator("[data-testid=package][data-name=billing]")
    assert billing.get_by_test_id("running").get_attribute("data-version") == "v2"
    assert "admin" in inner.get_by_test_id("user").inner_text()
    shot(page, "01-admin-overview")

    # Sync now: a new commit of orders is validated, published and run by Airflow.
    v2 = orders.push("v2")
    row.get_by_test_id("sync").click()
    wait_result(page, "sync orders: promoted")
    wait_for("orders v2 in Airflow", lambda: description(stack, "orders_daily") == "v2")
    assert repository(page, "orders").get_by_test_id("running").get_attribute("data-sha") == v2
    shot(page, "02-synced")

    # Approve: the commit waiting for approval reaches Airflow.
    repository(page, "reports").get_by_test_id("approve").click()
    dialog = inner.get_by_test_id("confirm")
    assert r1[:12] in dialog.inner_text()
    shot(page, "03-approve-confirmation")
    dialog.get_by_test_id("ok").click()
    wait_result(page, "approve reports: approved")
    wait_for("reports in Airflow", lambda: description(stack, "reports_daily") == "r1")
    assert repository(page, "reports").get_by_test_id("pending").count() == 0

    # A commit with a hardcoded secret: refused with its findings; Airflow keeps v2.
    leaked = orders.push("v3", extra=f'\nAPI_TOKEN = "{LEAKED}"\n')
    repository(page, "orders").get_by_test_id("sync").click()
    wait_result(page, "sync orders: refused")
    row = repository(page, "orders")
    refused = row.locator(f'[data-testid=findings][data-sha="{leaked}"]')
    finding = refused.locator("[data-testid=finding][data-rule=GitHubTokenDetector]")
    line = len(DAG.format(dag_id="orders_daily", marker="v3").splitlines()) + 2
    assert f"dags/orders_daily.py:{line}" in finding.inner_text(), refused.inner_text()
    assert row.get_by_test_id("running").get_attribute("data-sha") == v2
    assert LEAKED not in page.content() and LEAKED not in inner.locator("body").inner_html()
    shot(page, "04-refused-with-findings")
    assert description(stack, "orders_daily") == "v2"

    # Roll back: orders to v1, then package billing to v1.
    row.get_by_test_id("rollback-choice").select_option(v1)
    row.get_by_test_id("rollback").click()
    inner.get_by_test_id("confirm").get_by_test_id("ok").click()
    wait_result(page, "rollback orders: rolled-back")
    wait_for("orders v1 again", lambda: description(stack, "orders_daily") == "v1")
    billing = inner.locator("[data-testid=package][data-name=billing]")
    billing.get_by_test_id("rollback-choice").select_option("v1")
    billing.get_by_test_id("rollback").click()
    inner.get_by_test_id("confirm").get_by_test_id("ok").click()
    wait_result(page, "rollback billing: rolled-back")
    wait_for("billing v1 again", lambda: description(stack, "billing_daily") == "v1")
    billing = inner.locator("[data-testid=package][data-name=billing]")
    assert billing.get_by_test_id("running").get_attribute("data-version") == "v1"
    assert "rolled back by admin (Airflow UI)" in billing.inner_text()
    shot(page, "05-rolled-back")
    page.context.close()

    # Every action is in the audit, with the Airflow user as the actor.
    audit = StateDir(config.parent / ".adp-repos")
    assert [(e["action"], e["commit"], e["actor"]) for e in audit.audit_entries("orders")] == [
        ("add", None, "setup"),
        ("promote", v1, "setup"),
        ("promote", v2, "admin (Airflow UI)"),
        ("refuse", leaked, "admin (Airflow UI)"),
        ("rollback", v1, "admin (Airflow UI)"),
    ]
    assert ("approve", r1, "admin (Airflow UI)") in [
        (e["action"], e["commit"], e["actor"]) for e in audit.audit_entries("reports")
    ]
    assert not stack.api.import_errors()


def test_a_viewer_sees_the_sources_and_every_action_refuses_them(ui, browser) -> None:
    stack, config = ui["stack"], ui["config"]
    page = signed_in(browser, stack, "viewer")
    inner = frame(page)
    inner.get_by_test_id("environment").wait_for()
    assert inner.get_by_test_id("read-only").count() == 1
    assert inner.get_by_test_id("repository").count() >= 1
    assert inner.locator("[data-testid=package][data-name=billing]").count() == 1
    assert inner.locator("button[data-url]").count() == 0  # no action is offered
    shot(page, "06-viewer-read-only")
    page.context.close()

    audit = StateDir(config.parent / ".adp-repos")
    before = (len(audit.audit_entries("orders")), description(stack, "billing_daily"))
    promoted = audit.load("orders").promoted
    assert promoted
    base = f"{stack.url}/adp-sources/api"
    with AirflowClient(stack.url, login=("viewer", PASSWORDS["viewer"])) as viewer:
        token = viewer.token()
    as_viewer = {"Authorization": f"Bearer {token}", **HEADER}
    attempts = [
        ("repositories/orders/sync", {}),
        ("repositories/orders/approve", {"sha": promoted}),
        ("repositories/orders/rollback", {"sha": promoted}),
        ("packages/dev/billing/rollback", {"version": "v2"}),
    ]
    for path, body in attempts:
        answer = httpx.post(f"{base}/{path}", json=body, headers=as_viewer, timeout=60)
        assert answer.status_code == 403, (path, answer.text)
        assert "viewer may not change" in answer.json()["detail"], answer.text
    # The viewer may read.
    listed = httpx.get(f"{base}/sources", headers=as_viewer, timeout=60)
    assert listed.status_code == 200, listed.text
    assert listed.json()["role_may_act"] is False

    # Without a token: 401; an admin's action without the header: refused; bad input: named.
    answer = httpx.post(f"{base}/repositories/orders/sync", headers=HEADER, timeout=60)
    assert answer.status_code == 401, answer.text
    as_admin = {"Authorization": f"Bearer {stack.api.token()}"}
    answer = httpx.post(f"{base}/repositories/orders/sync", headers=as_admin, timeout=60)
    assert answer.status_code == 403 and "X-Requested-By" in answer.text, answer.text
    as_admin.update(HEADER)
    answer = httpx.post(f"{base}/repositories/orders/approve", json={"sha": "abc"},
                        headers=as_admin, timeout=60)  # fmt: skip
    assert answer.status_code == 422 and answer.json()["detail"].startswith("sha:"), answer.text
    answer = httpx.post(f"{base}/repositories/nope/sync", headers=as_admin, timeout=60)
    assert answer.status_code == 404 and "orders" in answer.json()["detail"], answer.text
    answer = httpx.post(f"{base}/packages/dev/billing/rollback", json={"version": "v9"},
                        headers=as_admin, timeout=60)  # fmt: skip
    assert answer.status_code == 422 and "v9" in answer.json()["detail"], answer.text
    answer = httpx.post(f"{base}/packages/dev/billing/rollback", json={}, headers=as_admin,
                        timeout=60)  # fmt: skip
    assert answer.status_code == 422 and "version" in answer.json()["detail"], answer.text

    # Nothing changed.
    after = (len(audit.audit_entries("orders")), description(stack, "billing_daily"))
    assert after == before
    assert audit.load("orders").promoted == promoted
