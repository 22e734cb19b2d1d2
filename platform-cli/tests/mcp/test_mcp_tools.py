"""`adp mcp` as a chat assistant drives it: one server over stdio for the module, real file://
git repositories and a local release store. "Add my workflows repository" adds, syncs and
reports the DAGs and the webhook setup; sync, approve, rollback and remove do what
`adp repos` does; the destructive tools change nothing without confirm=true; bad input is a
tool error naming the argument and the fix, and leaves airflow-repos.yaml byte for byte.
(A repository naming a credential needs the operator's policy and the user's yes:
test_mcp_credential_policy.)"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from adp.cli.main import app
from adp.releases.local_store import LocalStore
from adp.releases.pointer import read_pointer
from adp.releases.publish import PublishRequest, publish_validated
from adp.validation import DagInfo, Report
from adp_test_helpers.mcp_support import McpClient, User, snapshot
from adp_test_helpers.repo_support import FAKE_TOKEN, Upstream, dag_text
from typer.testing import CliRunner

ENV = "dev"
HEADER = """\
# our platform's DAG sources: keep this comment
release_store:
  bucket: {store}
  env: dev   # the environment
repositories:
  # written by hand, never synced
  - name: existing
    url: {url}
    namespace: existing
"""


@dataclass
class World:
    root: Path
    config: Path
    store: LocalStore
    client: McpClient
    existing: str  # the commit of the hand-written entry's repository (never synced)

    def pointer(self, namespace: str) -> str | None:
        return read_pointer(self.store, ENV, namespace).version

    def files(self) -> dict[str, bytes | None]:
        return snapshot(self.config, self.root / ".adp-repos" / "audit.jsonl")

    def upstream(self, name: str, **files: str) -> tuple[Upstream, str]:
        upstream = Upstream(self.root, name)
        return upstream, upstream.commit(files, f"{name}: first")


def publish_package(store: LocalStore, root: Path) -> None:
    """A package as CI publishes it (adp dags publish), next to the git repositories."""
    folder = root / "billing-dags"
    folder.mkdir()
    (folder / "billing_daily.py").write_text(dag_text("billing_daily"))
    report = Report(
        package="billing",
        roots=[str(folder.resolve())],
        files=["billing_daily.py"],
        dags=[DagInfo(dag_id="billing_daily", path="billing_daily.py", line=9)],
    )
    request = PublishRequest(
        ENV, "billing", folder, "2026.1", publisher="ci@example", git_sha="a" * 40
    )
    publish_validated(store, request, report)


@pytest.fixture(scope="module")
def world(module_root: Path) -> Iterator[World]:
    root = module_root
    store = LocalStore(root / "store")
    publish_package(store, root)
    existing = Upstream(root, "existing")
    sha = existing.commit({"existing_daily.py": dag_text("existing_daily")}, "by hand")
    config = root / "airflow-repos.yaml"
    config.write_text(HEADER.format(store=root / "store", url=existing.url))
    (root / "datakit" / "dags").mkdir(parents=True)
    args = ["--config", str(config), "--validate-root", str(root / "datakit"), "--actor", "chat"]
    with McpClient(args, cwd=root, log=root / "server.log") as client:
        yield World(root, config, store, client, sha)


def by_name(rows: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(r for r in rows if r["name"] == name)


def test_every_tool_is_typed_documented_and_annotated(world: World) -> None:
    tools = {t.name: t for t in world.client.tools()}
    assert set(tools) == {
        "list_sources", "source_status", "add_repository", "remove_repository", "sync",
        "approve", "rollback", "validate_dag_file",
    }  # fmt: skip
    for name, tool in tools.items():
        assert tool.description and tool.output_schema, name
        for argument, schema in tool.input_schema["properties"].items():
            assert schema.get("description"), f"{name}.{argument} has no description"
        hints = tool.annotations
        assert hints is not None and hints.idempotent_hint is not None, name
    for name in ("list_sources", "source_status"):
        assert tools[name].annotations.read_only_hint is True, name
    # The import check runs the file's code: no client may take it for a read-only tool.
    validate = tools["validate_dag_file"].annotations
    assert (validate.read_only_hint, validate.open_world_hint) == (False, True)
    for name in ("remove_repository", "approve", "rollback"):
        hints = tools[name].annotations
        assert (hints.read_only_hint, hints.destructive_hint) == (False, True), name
        confirm = tools[name].input_schema["properties"]["confirm"]
        assert confirm["type"] == "boolean" and confirm["default"] is False, name
    for name in ("add_repository", "sync"):
        hints = tools[name].annotations
        assert (hints.read_only_hint, hints.destructive_hint) == (False, False), name
    add = tools["add_repository"].input_schema
    assert add["required"] == ["name", "url"]
    assert add["properties"]["auth_type"]["enum"] == ["public", "oauth_token", "ssh_key"]


def test_add_my_workflows_repository_syncs_it_and_reports_its_dags_and_webhook(
    world: World,
) -> None:
    client = world.client
    _, sha = world.upstream(
        "workflows",
        **{
            "dags/workflows_daily.py": dag_text("workflows_daily"),
            "dags/workflows_hourly.py": dag_text("workflows_hourly"),
        },
    )
    # A webhook secret is a credential: the operator allows its variable, the user confirms
    # (a second server on the same file, with a client that asks its user).
    user = User(answer="accept")
    args = ["--config", str(world.config), "--credential-env", "WORKFLOWS_HOOK_SECRET"]
    args += ["--actor", "chat"]
    with McpClient(args, cwd=world.root, log=world.root / "server.log", elicitation=user) as chat:
        added = chat.ok(
            "add_repository", name="workflows", url=(world.root / "workflows.git").as_uri(),
            path="dags", webhook_provider="github", webhook_secret_env="WORKFLOWS_HOOK_SECRET",
        )  # fmt: skip
    assert len(user.asked) == 1 and "WORKFLOWS_HOOK_SECRET" in user.asked[0], user.asked
    sync = added["sync"]
    assert (sync["outcome"], sync["ok"], sync["promoted"]) == ("promoted", True, sha), added
    assert sorted(added["dag_ids"]) == ["workflows_daily", "workflows_hourly"]
    assert (added["namespace"], added["env"], added["findings"]) == ("workflows", ENV, [])
    hook = added["webhook"]
    assert hook["configured"] and hook["provider"] == "github"
    assert hook["receiver_path"] == "/hooks/workflows"
    assert hook["receiver_url"].endswith("/hooks/workflows")
    assert hook["secret_from"] == "environment variable WORKFLOWS_HOOK_SECRET"
    steps = " ".join(hook["steps"])
    assert "application/json" in steps and "Never paste it into this chat" in steps, steps
    assert world.pointer("workflows") == sha  # published: Airflow runs it
    text = world.config.read_text()
    written = HEADER.format(store=world.root / "store", url=(world.root / "existing.git").as_uri())
    assert text.startswith(written), text  # the comments and the entry written by hand stay
    assert "  - name: workflows\n" in text and "secret_env: WORKFLOWS_HOOK_SECRET" in text

    listed = client.ok("list_sources")
    assert (listed["env"], listed["notes"]) == (ENV, [])
    repo = by_name(listed["repositories"], "workflows")
    assert (repo["kind"], repo["promoted"], repo["release_current"]) == ("git", sha, sha)
    assert (repo["last_outcome"], repo["pending"]) == ("promoted", [])
    assert repo["last_sync_age"].endswith("ago") and repo["last_sync_age_seconds"] >= 0
    assert sorted(repo["dag_ids"]) == ["workflows_daily", "workflows_hourly"]
    assert repo["webhook"]["receiver_path"] == "/hooks/workflows"
    never = by_name(listed["repositories"], "existing")
    assert (never["promoted"], never["last_sync_age"], never["release_current"]) == (
        None, "never", None,
    )  # fmt: skip
    (package,) = listed["packages"]  # the git namespaces are repositories, not packages
    assert (package["kind"], package["name"], package["current_version"]) == (
        "package", "billing", "2026.1",
    )  # fmt: skip
    assert (package["published_by"], package["git_sha"]) == ("ci@example", "a" * 40)
    assert (package["release_count"], package["dag_ids"]) == (1, ["billing_daily"])
    assert package["published_at"]

    status = client.ok("source_status", name="workflows")["source"]
    assert [(a["action"], a["actor"]) for a in status["audit"]] == [
        ("add", "chat"), ("promote", "chat"),
    ]  # fmt: skip
    released = client.ok("source_status", name="billing")["source"]
    assert released["kind"] == "package" and [r["version"] for r in released["releases"]] == [
        "2026.1"
    ]


def test_sync_promotes_a_new_commit_and_refuses_one_with_findings(world: World) -> None:
    client = world.client
    upstream, first = world.upstream("orders", **{"orders_daily.py": dag_text("orders_daily")})
    assert client.ok("add_repository", name="orders", url=upstream.url)["sync"]["promoted"] == first
    assert client.ok("sync", name="orders")["outcome"] == "unchanged"
    second = upstream.commit({"orders_daily.py": dag_text("orders_daily", "v2")}, "two")
    synced = client.ok("sync", name="orders")
    assert (synced["outcome"], synced["promoted"], synced["dag_ids"]) == (
        "promoted", second, ["orders_daily"],
    )  # fmt: skip
    leaked = dag_text("orders_daily", "v3", extra=f'\nAPI_TOKEN = "{FAKE_TOKEN}"\n')
    bad = upstream.commit({"orders_daily.py": leaked}, "oops")
    refused = client.ok("sync", name="orders")
    assert (refused["outcome"], refused["ok"], refused["commit"]) == ("refused", False, bad)
    assert refused["promoted"] == second and world.pointer("orders") == second
    secret = next(f for f in refused["findings"] if f["rule"] == "GitHubTokenDetector")
    assert secret["file"] == "orders_daily.py" and secret["line"] > 0
    assert secret["location"].startswith(f"orders_daily.py:{secret['line']}:")
    status = client.ok("source_status", name="orders")["source"]
    assert status["last_outcome"] == "refused" and status["findings"] == refused["findings"]
    assert [c["sha"] for c in status["refused"]] == [bad]
    assert FAKE_TOKEN not in client.everything_answered()


def test_approve_and_rollback_change_nothing_without_confirm(world: World) -> None:
    client = world.client
    upstream, first = world.upstream("gated", **{"gated_daily.py": dag_text("gated_daily")})
    added = client.ok("add_repository", name="gated", url=upstream.url, auto_deploy=False)
    assert (added["sync"]["outcome"], added["dag_ids"]) == ("pending", ["gated_daily"])
    assert any("approve" in step for step in added["next_steps"])
    before = world.files()
    plan = client.ok("approve", name="gated", sha=first)
    assert (plan["confirmed"], plan["changed"], plan["result"]) == (False, False, None)
    assert "confirm=true" in plan["how_to_confirm"] and first[:12] in plan["summary"]
    assert world.pointer("gated") is None and world.files() == before
    pending = client.ok("source_status", name="gated")["source"]["pending"]
    assert [c["sha"] for c in pending] == [first] and pending[0]["dags"] == ["gated_daily"]
    done = client.ok("approve", name="gated", sha=first, confirm=True)
    assert (done["changed"], done["result"]["outcome"]) == (True, "approved")
    assert world.pointer("gated") == first

    second = upstream.commit({"gated_daily.py": dag_text("gated_daily", "v2")}, "two")
    assert client.ok("sync", name="gated")["outcome"] == "pending"
    client.ok("approve", name="gated", sha=second, confirm=True)
    assert world.pointer("gated") == second
    before = world.files()
    plan = client.ok("rollback", name="gated", sha=first)
    assert (plan["changed"], plan["how_to_confirm"] is not None) == (False, True)
    assert world.pointer("gated") == second and world.files() == before
    done = client.ok("rollback", name="gated", sha=first, confirm=True)
    assert (done["changed"], done["result"]["outcome"]) == (True, "rolled-back")
    assert world.pointer("gated") == first
    again = client.ok("rollback", name="gated", sha=first, confirm=True)
    assert again["changed"] is False and "nothing to do" in again["summary"]


def test_remove_repository_changes_nothing_without_confirm(world: World) -> None:
    client = world.client
    upstream, sha = world.upstream("leaving", **{"leaving_daily.py": dag_text("leaving_daily")})
    later = client.ok("add_repository", name="leaving", url=upstream.url, sync=False)
    assert later["sync"] is None and "call sync" in later["next_steps"][0]
    assert world.pointer("leaving") is None
    assert client.ok("sync", name="leaving")["promoted"] == sha
    before = world.files()
    plan = client.ok("remove_repository", name="leaving")
    assert (plan["confirmed"], plan["changed"]) == (False, False)
    assert "dev/leaving" in plan["summary"] and "confirm=true" in plan["how_to_confirm"]
    assert world.files() == before and world.pointer("leaving") == sha
    done = client.ok("remove_repository", name="leaving", confirm=True)
    assert (done["changed"], done["previous_release"]) == (True, sha)
    assert world.pointer("leaving") is None  # out of the environment; its releases stay
    assert any(world.store.list(f"{ENV}/leaving/releases/"))
    assert "name: leaving" not in world.config.read_text()
    assert client.error("sync", name="leaving").startswith("Error executing tool sync: name:")
    kept = client.ok("source_status", name="leaving")["source"]  # its releases, no pointer
    assert (kept["kind"], kept["current_version"], kept["release_count"]) == ("package", None, 1)


def test_validate_dag_file_returns_the_findings_as_data(world: World) -> None:
    client = world.client
    dags = world.root / "datakit" / "dags"
    (dags / "sales_daily.py").write_text(dag_text("sales_daily"))
    good = client.ok("validate_dag_file", path="dags/sales_daily.py", package="sales")
    assert (good["passed"], good["file"], good["dag_ids"]) == (True, "dags/sales_daily.py",
                                                               ["sales_daily"])  # fmt: skip
    assert good["counts"]["error"] == 0
    text = dag_text("other_daily", extra=f'\nAPI_TOKEN = "{FAKE_TOKEN}"\n')
    bad = client.ok("validate_dag_file", text=text, filename="sales_other.py", package="sales")
    assert bad["passed"] is False and bad["dag_ids"] == ["other_daily"]
    rules = {f["rule"]: f for f in bad["findings"]}
    assert {"ADP100", "GitHubTokenDetector"} <= set(rules), rules
    assert rules["ADP100"]["file"] == "sales_other.py" and rules["ADP100"]["fix"]
    assert (
        rules["GitHubTokenDetector"]["line"]
        == text.splitlines().index(f'API_TOKEN = "{FAKE_TOKEN}"') + 1
    )
    assert FAKE_TOKEN not in client.everything_answered()


ZERO = "0" * 40
URL = "{url}"
BAD_INPUT = [
    ("source_status", {"name": "nope"}, "name: no DAG source named 'nope'"),
    ("list_sources", {"env": "Prod!"}, "env: environment 'Prod!': use 1-32 lowercase"),
    ("add_repository", {"name": "Bad Name", "url": URL}, "name: 'Bad Name': use 1-63"),
    ("add_repository", {"name": "ops", "url": "ftp://h/x.git"}, "url: 'ftp://h/x.git': use https"),
    (
        "add_repository",
        {"name": "ops", "url": URL, "auth_type": "token"},
        "auth_type: Input should be 'public', 'oauth_token' or 'ssh_key'",
    ),
    (
        "add_repository",
        {"name": "ops", "url": "https://git.example.com/x.git", "auth_type": "oauth_token"},
        "token_env: auth_type oauth_token needs exactly one of token_env",
    ),
    (
        "add_repository",
        {"name": "existing", "url": URL, "namespace": "ops"},
        "name: 'existing' is already used by repositories[0]",
    ),
    (
        "add_repository",
        {"name": "ops", "url": URL, "namespace": "existing"},
        "namespace: 'existing' is already used by repositories[0]",
    ),
    ("add_repository", {"name": "ops", "url": URL, "namespace": "Ops"}, "namespace: package 'Ops'"),
    (
        "add_repository",
        {"name": "ops", "url": URL, "sync_interval": "1s"},
        "sync_interval: '1s': must be between 10s",
    ),
    (
        "add_repository",
        {"name": "ops", "url": URL, "branch": "promoted/main"},
        "branch: promoted/* branches are the platform's own",
    ),
    ("add_repository", {"name": "ops"}, "url: required"),
    (
        "add_repository",
        {"name": "ops", "url": URL, "webhook_provider": "github"},
        "webhook_secret_env: a webhook needs exactly one of secret_env or secret_file",
    ),
    ("sync", {"name": "nope"}, "name: no repository named 'nope'"),
    ("approve", {"name": "existing", "sha": "abc123"}, "sha: give the full commit id"),
    (
        "approve",
        {"name": "existing", "sha": "{existing}"},
        "sha: existing: {existing} is not waiting for approval",
    ),
    ("rollback", {"name": "existing", "sha": ZERO}, "sha: existing: 000000000000 was never"),
    ("remove_repository", {"name": "nope"}, "name: no repository named 'nope'"),
    ("remove_repository", {"name": "nope", "confirm": True}, "name: no repository named"),
    ("validate_dag_file", {"path": "/etc/hostname"}, "path: /etc/hostname is outside the"),
    ("validate_dag_file", {"path": "../airflow-repos.yaml"}, "path: ../airflow-repos.yaml is"),
    ("validate_dag_file", {"path": "dags/missing.py"}, "path: dags/missing.py: no such file"),
    ("validate_dag_file", {}, "path: give exactly one of path"),
    ("validate_dag_file", {"text": "x = 1", "filename": "../x.py"}, "filename: a file name such"),
    ("validate_dag_file", {"text": "x = 1", "package": "Sales"}, "package: 'Sales' is not a"),
    ("validate_dag_file", {"text": "x", "fail_on": "info"}, "fail_on: Input should be 'error'"),
]


@pytest.mark.parametrize(
    ("tool", "arguments", "expected"),
    BAD_INPUT,
    ids=[f"{tool}-{i}-{expected.split(':')[0]}" for i, (tool, _, expected) in enumerate(BAD_INPUT)],
)
def test_bad_input_is_a_tool_error_naming_the_argument_and_changes_nothing(
    world: World, tool: str, arguments: dict[str, Any], expected: str
) -> None:
    values = {"url": (world.root / "existing.git").as_uri(), "existing": world.existing}
    arguments = {k: v.format(**values) if isinstance(v, str) else v for k, v in arguments.items()}
    before = world.files()
    message = world.client.error(tool, **arguments)
    assert message.startswith(f"Error executing tool {tool}: "), message
    assert expected.format(**values) in message, message
    assert world.files() == before


def test_a_link_out_of_the_allowed_folder_is_refused(world: World) -> None:
    link = world.root / "datakit" / "dags" / "escape.py"
    link.symlink_to(world.config)
    message = world.client.error("validate_dag_file", path="dags/escape.py")
    assert "path: dags/escape.py is outside the folders this server validates" in message


def test_adp_mcp_refuses_a_validate_root_that_is_not_a_folder(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["mcp", "--validate-root", str(tmp_path / "none")])
    assert result.exit_code == 2 and "--validate-root" in result.stderr, result.output
