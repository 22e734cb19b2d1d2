"""A prompt-injected model tries to make `adp mcp` send a credential it chose to a host it
chose (issue 26, item 4): `add_repository` with `token_file=<any readable file>` or
`token_env=<any variable>` and `url=<its host>`, then the first sync.

The credentials a chat may name are the operator's: allow-listed variables and files in the
secrets folder (--credential-env, --secrets-dir), sent only to allow-listed hosts
(--allow-host), and only once the user said yes in the client (elicitation). Hosts the model
chose are real HTTP listeners on loopback that ask every request for credentials and keep
what they get; after every refusal the files are as they were, no listener got an
Authorization header, and no planted secret is in any answer or server log.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from adp.cli.main import app
from adp_test_helpers.mcp_support import (
    CredentialTrap,
    McpClient,
    User,
    credential_trap,
    server_env,
    snapshot,
    text_of,
)
from adp_test_helpers.repo_support import Upstream, dag_text, write_config
from adp_test_servers.git_servers import GitHttpServer, running_git_http
from typer.testing import CliRunner

TOKEN = "tok-" + "Rv7" * 12  # the team's token: TEAM_TOKEN (allowed) and secrets/team-token
PLANTED_FILE = "planted-file-" + "Qz5" * 10  # a passwd-like file outside the secrets folder
PLANTED_ENV = "planted-env-" + "Hw3" * 10  # DEPLOY_KEY of the server's environment, not allowed
NETRC_SECRET = "netrc-" + "Lp8" * 10  # the server's ~/.netrc, for any host
KEY_LINE = "key-" + "Mb6" * 10  # the deploy key in the secrets folder
LOOKALIKE = "g\u0456t.allowed.example"  # a Cyrillic i: another host that looks the same
SECRETS = (TOKEN, PLANTED_FILE, PLANTED_ENV, NETRC_SECRET, KEY_LINE)


@dataclass
class World:
    root: Path
    secrets: Path
    planted: Path
    http: GitHttpServer  # the team's git host, allow-listed; takes TOKEN only
    allowed: CredentialTrap  # a listener on an allow-listed host:port
    evil: CredentialTrap  # a listener on a port no one allowed
    upstream: Upstream  # the team's repository (behind the token)
    public: Upstream  # a public repository (file://), DAG ids open_*
    clients: list[McpClient] = field(default_factory=list)
    calls: Iterator[int] = field(default_factory=itertools.count)

    def env(self, **extra: str) -> dict[str, str]:
        return server_env(
            HOME=str(self.root / "home"), TEAM_TOKEN=TOKEN, DEPLOY_KEY=PLANTED_ENV, **extra
        )

    @property
    def allow_hosts(self) -> list[str]:
        return [
            f"127.0.0.1:{self.http.port}",
            f"127.0.0.1:{self.allowed.port}",
            "git.allowed.example",
            "*.corp.example",
        ]

    def server(self, name: str, args: list[str], env: dict[str, str], **kw: Any) -> McpClient:
        folder = self.root / name
        folder.mkdir()
        config = write_config(folder / "airflow-repos.yaml", folder / "store", [])
        client = McpClient(
            ["--config", str(config), *args], cwd=folder, log=folder / "server.log", env=env, **kw
        )
        self.clients.append(client)
        return client

    def files(self) -> dict[str, bytes | None]:
        paths = [self.root / n / f for n in ("guarded", "asking", "bare")
                 for f in ("airflow-repos.yaml", ".adp-repos/audit.jsonl")]  # fmt: skip
        return snapshot(*paths)

    def seen(self) -> tuple[int, int, int]:
        return len(self.allowed.requests), len(self.evil.requests), len(self.http.requests)

    def assert_nothing_sent(self, since: tuple[int, int, int] = (0, 0, 0)) -> None:
        """No listener got an Authorization header, nor the git host a wrong credential
        (since ``since``, a ``seen()``)."""
        allowed, evil, http = since
        assert [a for _, _, a in self.allowed.requests[allowed:] if a] == []
        assert [a for _, _, a in self.evil.requests[evil:] if a] == []
        assert [r for r in self.http.requests[http:] if r.auth == "wrong"] == []

    def refused(self, client: McpClient, name: str, **arguments: Any) -> str:
        """The message of an add_repository that must be refused having sent and changed
        nothing (checked in that order: a leak shows first)."""
        before, seen = self.files(), self.seen()
        name = f"{name}-{next(self.calls)}"  # a name never used: no refusal for a taken one
        result = client.call("add_repository", name=name, **arguments)
        self.assert_nothing_sent(seen)
        assert result.is_error, f"accepted {arguments}: {result.structured_content}"
        assert self.files() == before
        return text_of(result)


@pytest.fixture(scope="module")
def world(module_root: Path) -> Iterator[World]:
    root = module_root
    home = root / "home"
    home.mkdir()
    (home / ".netrc").write_text(f"default login ops password {NETRC_SECRET}\n")
    (home / ".netrc").chmod(0o600)
    planted = root / "planted" / "passwd"
    planted.parent.mkdir()
    planted.write_text(f"{PLANTED_FILE}:x:0:0:root:/root:/bin/bash\nbin:x:2:2::/bin:\n")
    secrets = root / "secrets"
    secrets.mkdir()
    (secrets / "team-token").write_text(TOKEN + "\n")
    (secrets / "deploy-key").write_text(f"-----BEGIN OPENSSH PRIVATE KEY-----\n{KEY_LINE}\n")
    (secrets / "known_hosts").write_text("git.allowed.example ssh-ed25519 AAAAC3Nza\n")
    (secrets / "hook").write_text("hook-secret\n")
    (secrets / "escape").symlink_to(planted)  # a link in the folder, out of it
    (secrets / "linked").symlink_to(planted.parent)  # a linked folder, out of it
    served = root / "served"
    served.mkdir()
    upstream = Upstream(served, "team")
    upstream.commit({"team_daily.py": dag_text("team_daily")}, "first")
    public = Upstream(served, "open")
    public.commit({"open_daily.py": dag_text("open_daily")}, "first")
    with (
        running_git_http(served, TOKEN) as http,
        credential_trap() as allowed,
        credential_trap() as evil,
    ):
        yield World(root, secrets, planted, http, allowed, evil, upstream, public)


@pytest.fixture(scope="module")
def guarded(world: World) -> Iterator[McpClient]:
    """The operator's policy given by environment variables; a client without elicitation."""
    env = world.env(
        ADP_MCP_SECRETS_DIR=str(world.secrets),
        ADP_MCP_CREDENTIAL_ENV="TEAM_TOKEN",
        ADP_MCP_ALLOW_HOST=" ".join(world.allow_hosts),
    )
    with world.server("guarded", [], env) as client:
        yield client


@pytest.fixture(scope="module")
def asking(world: World) -> Iterator[tuple[McpClient, User]]:
    """The same policy given by options; a client that asks its user (declines by default)."""
    user = User()
    args = ["--secrets-dir", str(world.secrets), "--credential-env", "TEAM_TOKEN"]
    for host in world.allow_hosts:
        args += ["--allow-host", host]
    with world.server("asking", args, world.env(), elicitation=user) as client:
        yield client, user


@pytest.fixture(scope="module")
def bare(world: World) -> Iterator[tuple[McpClient, User]]:
    """No policy at all; a client whose user says yes to everything."""
    user = User(answer="accept")
    with world.server("bare", [], world.env(), elicitation=user) as client:
        yield client, user


OUTSIDE = [
    "{planted}",  # an absolute path outside the folder
    "../planted/passwd",  # out by '..'
    "sub/../../planted/passwd",
    "{secrets}/../planted/passwd",
    "escape",  # a link in the folder pointing out
    "linked/passwd",  # through a linked folder pointing out
    "/etc/passwd",
]


@pytest.mark.parametrize("path", OUTSIDE)
def test_a_file_outside_the_secrets_folder_is_never_read_or_sent(
    world: World, guarded: McpClient, path: str
) -> None:
    given = path.format(planted=world.planted, secrets=world.secrets)
    message = world.refused(
        guarded, "stolen", url=world.allowed.url("team"), auth_type="oauth_token",
        token_file=given,
    )  # fmt: skip
    assert "add_repository: token_file: " in message, message
    assert "secrets folder" in message or "'..' is not allowed" in message, message


@pytest.mark.parametrize(
    ("argument", "extra"),
    [
        ("ssh_key_file", {"known_hosts_file": "known_hosts"}),
        ("known_hosts_file", {"ssh_key_file": "deploy-key"}),
    ],
)
def test_an_ssh_file_outside_the_secrets_folder_is_refused(
    world: World, guarded: McpClient, argument: str, extra: dict[str, str]
) -> None:
    for path in (str(world.planted), "escape"):
        message = world.refused(
            guarded, "stolen", url=f"ssh://git@127.0.0.1:{world.allowed.port}/team.git",
            auth_type="ssh_key", **{argument: path}, **extra,
        )  # fmt: skip
        assert f"add_repository: {argument}: only files in the secrets folder" in message


def test_a_webhook_secret_outside_the_folder_or_the_allowed_variables_is_refused(
    world: World, guarded: McpClient
) -> None:
    public = {"url": world.public.url, "webhook_provider": "github"}
    message = world.refused(guarded, "hooked", webhook_secret_file="escape", **public)
    assert "add_repository: webhook_secret_file: only files in the secrets folder" in message
    message = world.refused(guarded, "hooked", webhook_secret_env="DEPLOY_KEY", **public)
    assert "add_repository: webhook_secret_env: not one of the environment variables" in message


@pytest.mark.parametrize("variable", ["DEPLOY_KEY", "HOME", "PATH", "ADP_AIRFLOW_TOKEN"])
def test_a_variable_the_operator_did_not_allow_is_never_sent(
    world: World, guarded: McpClient, variable: str
) -> None:
    message = world.refused(
        guarded, "stolen", url=world.allowed.url("team"), auth_type="oauth_token",
        token_env=variable,
    )  # fmt: skip
    assert "add_repository: token_env: not one of the environment variables" in message
    assert "TEAM_TOKEN" in message, message  # it says which are allowed
    message = world.refused(
        guarded, "stolen", url=f"ssh://git@127.0.0.1:{world.allowed.port}/team.git",
        auth_type="ssh_key", ssh_key_env=variable, known_hosts_file="known_hosts",
    )  # fmt: skip
    assert "add_repository: ssh_key_env: not one of the environment variables" in message


def _not_allowed_urls(world: World) -> list[str]:
    punycode = LOOKALIKE.encode("idna").decode()
    return [
        world.evil.url("team"),  # the allowed address, another port
        world.allowed.url("team", host="localhost"),  # another name of the allowed listener
        f"http://127.0.0.1.:{world.evil.port}/team.git",
        f"http://2130706433:{world.allowed.port}/team.git",  # 127.0.0.1 as a number
        f"http://0x7f.0.0.1:{world.allowed.port}/team.git",
        f"http://[::ffff:127.0.0.1]:{world.allowed.port}/team.git",
        "https://git.allowed.example@evil.test/team.git",  # userinfo: the host is evil.test
        "https://git.allowed.example:443@evil.test/team.git",
        "https://evil.test#@git.allowed.example/team.git",
        "https://evil.test?@git.allowed.example/team.git",
        "https://evil.test\\@git.allowed.example/team.git",
        "https://evil.test/git.allowed.example/team.git",
        "https://git.allowed.example.evil.test/team.git",
        "https://GIT.ALLOWED.EXAMPLE.evil.test./team.git",
        "https://git.allowed.example%2eevil.test/team.git",
        "https://evilgit.allowed.example/team.git",
        f"https://{LOOKALIKE}/team.git",
        f"https://{punycode}/team.git",
        "https://corp.example/team.git",  # *.corp.example is the names under it, not it
        "https://evilcorp.example/team.git",
    ]


def test_an_allowed_credential_goes_to_no_other_host(world: World, guarded: McpClient) -> None:
    for url in _not_allowed_urls(world):
        for credential in ({"token_env": "TEAM_TOKEN"}, {"token_file": "team-token"}):
            message = world.refused(
                guarded, "stolen", url=url, auth_type="oauth_token", **credential
            )
            assert "add_repository: url: " in message, (url, message)
    ssh = {"auth_type": "ssh_key", "ssh_key_file": "deploy-key", "known_hosts_file": "known_hosts"}
    for url in (
        "ssh://git@evil.test/git.allowed.example/team.git",
        "ssh://git@git.allowed.example@evil.test/team.git",
        "git@evil.test:git.allowed.example/team.git",
    ):
        message = world.refused(guarded, "stolen", url=url, **ssh)
        assert "add_repository: url: " in message, (url, message)


def test_confirm_true_from_the_model_is_no_substitute_for_the_user(
    world: World, guarded: McpClient
) -> None:
    allowed = {"url": world.http.url("team"), "auth_type": "oauth_token", "token_env": "TEAM_TOKEN"}
    seen = len(world.http.requests)
    message = world.refused(guarded, "team", **allowed)
    assert "add_repository: " in message and "elicitation" in message, message
    message = world.refused(guarded, "team", confirm=True, **allowed)
    assert "add_repository: confirm: not a parameter of add_repository" in message, message
    assert "the user confirms it in the client" in message, message
    assert len(world.http.requests) == seen  # the git host was never contacted


def test_a_declined_question_changes_nothing_and_normal_spellings_of_allowed_hosts_pass(
    world: World, asking: tuple[McpClient, User]
) -> None:
    client, user = asking
    for url in (
        "https://GIT.Allowed.Example./team.git",
        "https://git.allowed.example:443/team.git",
        "https://team.corp.example/team.git",
        "https://a.b.corp.example/team.git",
        world.http.url("team"),
    ):
        for answer in ("decline", "cancel"):
            user.answer = answer
            asked = len(user.asked)
            message = world.refused(
                client, "team", url=url, auth_type="oauth_token", token_env="TEAM_TOKEN"
            )
            assert len(user.asked) == asked + 1, (url, message)  # the policy let it through
            assert "the user did not confirm" in message, message
    question = user.asked[-1]
    assert "TEAM_TOKEN" in question and f"127.0.0.1:{world.http.port}" in question, question


def test_the_users_yes_adds_and_syncs_with_the_operators_credential(
    world: World, asking: tuple[McpClient, User]
) -> None:
    client, user = asking
    user.answer = "accept"
    seen = world.seen()
    added = client.ok(
        "add_repository", name="team", url=world.http.url("team"), auth_type="oauth_token",
        token_file="team-token",
    )  # fmt: skip
    assert added["sync"]["outcome"] == "promoted", added
    assert added["entry"]["token_file"] == str(world.secrets / "team-token")
    assert any(r.auth == "ok" for r in world.http.requests)
    assert "file" in user.asked[-1] and "team-token" in user.asked[-1], user.asked[-1]
    asked = len(user.asked)
    public = client.ok("add_repository", name="open", url=world.public.url)
    # a public repository too: its code reaches Airflow, so a client that can ask, asks
    assert public["sync"]["outcome"] == "promoted" and len(user.asked) == asked + 1
    assert "open" in user.asked[-1] and "sending" not in user.asked[-1], user.asked[-1]
    user.answer = "decline"
    refused = client.error("add_repository", name="shut", url=world.public.url)
    assert "did not confirm" in refused, refused
    world.assert_nothing_sent(seen)


def test_without_a_policy_no_credential_is_accepted_and_public_repositories_work(
    world: World, bare: tuple[McpClient, User]
) -> None:
    client, user = bare
    for credential in (
        {"auth_type": "oauth_token", "token_env": "TEAM_TOKEN"},
        {"auth_type": "oauth_token", "token_file": str(world.secrets / "team-token")},
    ):
        message = world.refused(client, "team", url=world.http.url("team"), **credential)
        for option in ("--secrets-dir", "--credential-env", "--allow-host", "ADP_MCP_ALLOW_HOST"):
            assert option in message, message
    assert user.asked == []  # refused before the user is bothered
    added = client.ok("add_repository", name="open", url=world.public.url)
    assert added["sync"]["outcome"] == "promoted" and len(user.asked) == 1  # the user's yes


def test_a_public_repository_gets_none_of_the_servers_ambient_credentials(
    world: World, bare: tuple[McpClient, User]
) -> None:
    """The server's ~/.netrc has a `default` entry: git (curl) would send it to any host."""
    client, _ = bare
    seen = world.seen()
    added = client.ok("add_repository", name="public", url=world.evil.url("public"))
    assert added["sync"]["outcome"] == "unreachable", added
    assert len(world.evil.requests) > seen[1]  # it was contacted, asked for credentials ...
    world.assert_nothing_sent(seen)  # ... and got none


def test_creating_the_file_with_a_release_store_needs_the_user(world: World) -> None:
    """`bucket` decides where every release is written: a model cannot choose it alone."""
    folder = world.root / "fresh"
    folder.mkdir()
    config = folder / "airflow-repos.yaml"
    args = ["--config", str(config)]
    store = {"bucket": str(folder / "store"), "env": "dev"}
    with McpClient(args, cwd=folder, log=folder / "server.log", env=world.env()) as client:
        world.clients.append(client)
        message = client.error("add_repository", name="open", url=world.public.url, **store)
        assert "add_repository: bucket: " in message and "elicitation" in message, message
    assert not config.exists() and not (folder / "store").exists()
    user = User(answer="decline")
    with McpClient(
        args, cwd=folder, log=folder / "server.log", env=world.env(), elicitation=user
    ) as client:
        world.clients.append(client)
        client.error("add_repository", name="open", url=world.public.url, **store)
        assert not config.exists() and len(user.asked) == 1, user.asked
        assert str(folder / "store") in user.asked[0]
        user.answer = "accept"
        added = client.ok("add_repository", name="open", url=world.public.url, **store)
        assert added["sync"]["outcome"] == "promoted" and config.exists()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--allow-host", "https://git.example.com"], "--allow-host 'https://git.example.com':"),
        (["--allow-host", "user@git.example.com"], "--allow-host 'user@git.example.com': give"),
        (["--allow-host", "*.com"], "--allow-host '*.com': '*.' stands before a domain"),
        (["--allow-host", "git.example.com:99999"], "port 99999 is not a port"),
        (["--secrets-dir", "/nonexistent/secrets"], "--secrets-dir /nonexistent/secrets: not a"),
        (["--credential-env", "team-token"], "--credential-env 'team-token': not a variable"),
    ],
)
def test_adp_mcp_refuses_a_policy_it_cannot_apply(
    tmp_path: Path, args: list[str], expected: str
) -> None:
    result = CliRunner().invoke(app, ["mcp", "--config", str(tmp_path / "x.yaml"), *args])
    assert result.exit_code == 2 and expected in result.stderr, result.output


def test_no_answer_or_log_ever_holds_a_planted_secret(world: World) -> None:
    """Runs last: everything every server answered or logged in this module."""
    assert world.clients, "the other tests ran first"
    world.assert_nothing_sent()
    for client in world.clients:
        answered = client.everything_answered()
        log = client.log.read_text() if client.log.exists() else ""
        for secret in SECRETS:
            assert secret not in answered, secret
            assert secret not in log, secret
    kept = (world.secrets, world.planted.parent, world.root / "home", world.root / "served")
    for path in world.root.rglob("*"):
        if path.is_symlink() or not path.is_file() or any(k in path.parents for k in kept):
            continue
            data = path.read_bytes()
            for secret in SECRETS:
                assert secret.encode() not in data, (secret, path)
