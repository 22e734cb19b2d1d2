"""No tool of `adp mcp` ever answers a credential. A token is planted where the configuration
names it (an environment variable of the server, a token file) and used for real against git
over HTTP with Basic auth on loopback; every tool is called, including with credentials put
where they do not belong, and every answer, the server's log and the files it wrote are
scanned for the token. The operator allowed these credentials and the host (--credential-env,
--secrets-dir, --allow-host) and the user says yes to every question of the server."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from adp_test_helpers.mcp_support import McpClient, User, server_env, snapshot
from adp_test_helpers.repo_support import Upstream, dag_text, files_holding
from adp_test_servers.git_servers import GitHttpServer, running_git_http

TOKEN = "tok-" + "Kp4" * 12
WRONG = "tok-wrong-" + "Jx9" * 10
LOOKS_LIKE_A_TOKEN = "ghp_" + "Wm2" * 12  # a GitHub token's shape, made up


@dataclass
class World:
    root: Path
    config: Path
    token_file: Path
    http: GitHttpServer
    team: Upstream
    other: Upstream
    client: McpClient


@pytest.fixture(scope="module")
def world(module_root: Path) -> Iterator[World]:
    root = module_root
    served = root / "served"
    served.mkdir()
    team, other = Upstream(served, "team"), Upstream(served, "other")
    team.commit({"team_daily.py": dag_text("team_daily")}, "team")
    other.commit({"other_daily.py": dag_text("other_daily")}, "other")
    secrets = root / "secrets"
    secrets.mkdir()
    token_file = secrets / "other-token"
    token_file.write_text(TOKEN + "\n")
    (secrets / "hook").write_text("hook-" + TOKEN)
    config = root / "airflow-repos.yaml"  # absent: the first add_repository creates it
    with running_git_http(served, TOKEN) as http:
        env = server_env(TEAM_TOKEN=TOKEN)
        args = ["--config", str(config), "--receiver-url", "https://hooks.example.com/"]
        args += ["--credential-env", "TEAM_TOKEN", "--secrets-dir", str(secrets)]
        args += ["--allow-host", f"127.0.0.1:{http.port}"]
        user = User(answer="accept")
        log = root / "server.log"
        with McpClient(args, cwd=root, log=log, env=env, elicitation=user) as client:
            yield World(root, config, token_file, http, team, other, client)


def test_credentials_are_used_and_never_answered(world: World) -> None:
    client, http = world.client, world.http
    assert "does not exist yet" in client.ok("list_sources")["notes"][0]
    team = client.ok(
        "add_repository", name="team", url=http.url("team"), auth_type="oauth_token",
        token_env="TEAM_TOKEN", webhook_provider="gitlab", webhook_secret_file="hook",
        bucket=str(world.root / "store"), env="dev",
    )  # fmt: skip
    assert (team["sync"]["outcome"], team["dag_ids"]) == ("promoted", ["team_daily"]), team
    assert team["entry"]["token_env"] == "TEAM_TOKEN"
    hook = team["webhook"]
    assert hook["receiver_url"] == "https://hooks.example.com/hooks/team"
    # a file in the secrets folder (named relative to it) is written and shown absolute
    assert hook["secret_from"] == f"file {world.root / 'secrets' / 'hook'}"
    other = client.ok(
        "add_repository", name="other", url=http.url("other"), auth_type="oauth_token",
        token_file="other-token",
    )  # fmt: skip
    assert other["sync"]["outcome"] == "promoted", other
    assert any(r.auth == "ok" for r in http.requests)

    rows = {r["name"]: r for r in client.ok("list_sources")["repositories"]}
    assert rows["team"]["credential_from"] == "environment variable TEAM_TOKEN"
    assert rows["other"]["credential_from"] == f"file {world.root / 'secrets' / 'other-token'}"
    client.ok("source_status", name="team")
    assert client.ok("sync", name="team")["outcome"] == "unchanged"

    world.token_file.write_text(WRONG)  # a token that the server refuses: the sync says so
    world.other.commit({"other_daily.py": dag_text("other_daily", "v2")}, "v2")
    refused = client.ok("sync", name="other")
    assert (refused["outcome"], refused["ok"]) == ("unreachable", False), refused
    assert client.ok("source_status", name="other")["source"]["last_error"]

    before = snapshot(world.config)
    url_with_token = http.url("team").replace("http://", f"http://x-access-token:{TOKEN}@")
    refusals = [
        ("url", {"url": url_with_token, "auth_type": "oauth_token", "token_env": "T"}),
        ("token_env", {"url": http.url("team"), "auth_type": "oauth_token", "token_env": TOKEN}),
        ("token_env", {"url": http.url("team"), "auth_type": "oauth_token",
                       "token_env": LOOKS_LIKE_A_TOKEN}),
        ("branch", {"url": http.url("team"), "branch": LOOKS_LIKE_A_TOKEN}),
        ("token", {"url": http.url("team"), "token": TOKEN}),
        ("password", {"url": http.url("team"), "password": TOKEN}),
    ]  # fmt: skip
    for argument, arguments in refusals:
        message = client.error("add_repository", name="third", **arguments)
        assert f"add_repository: {argument}: " in message, message
        assert "credential" in message or "never the token" in message, message
    assert snapshot(world.config) == before

    text = dag_text("team_x", extra=f'\nGIT_PASSWORD = "{TOKEN}"\nAPI = "{LOOKS_LIKE_A_TOKEN}"\n')
    checked = client.ok("validate_dag_file", text=text, filename="team_x.py", package="team")
    assert checked["passed"] is False and checked["findings"]
    assert client.ok("remove_repository", name="other")["changed"]  # the user said yes
    client.error("approve", name="team", sha=TOKEN)
    client.error("rollback", name="team", sha="0" * 40)

    answered = client.everything_answered()
    for secret in (TOKEN, WRONG, LOOKS_LIKE_A_TOKEN):
        assert secret not in answered
        assert secret not in (world.root / "server.log").read_text()
    written = [
        p.relative_to(world.root)
        for secret in (TOKEN, WRONG)
        for p in files_holding(world.root, secret)
        if p.parts[len(world.root.parts)] not in ("served", "secrets")
    ]
    assert written == [], written  # not the config, the state, the audit, the mirrors, the store
