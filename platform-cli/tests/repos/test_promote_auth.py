"""The promoter reaches repositories as users configure them, against real servers on loopback:
a token over HTTP (git http-backend behind Basic auth) and an SSH key with a pinned host key
(Debian's sshd). No credential reaches a file the promoter writes, the release store or a
message; a wrong host key is refused, never accepted."""

from __future__ import annotations

from pathlib import Path

import pytest
from adp.releases.local_store import LocalStore
from adp.releases.pointer import read_pointer
from adp.repos.config import load_config
from adp.repos.promote import Promoter
from adp_test_helpers.repo_support import Upstream, dag_text, files_holding, write_config
from adp_test_servers.git_servers import make_client_key, running_git_http, running_git_ssh

TOKEN = "tok-" + "x7Q" * 10


def promoter(root: Path, entry: dict) -> Promoter:
    config = write_config(
        root / "airflow-repos.yaml",
        root / "store",
        [{"name": "team", "namespace": "team", **entry}],
    )
    return Promoter(load_config(config), actor="tester")


def team_commit(upstream: Upstream, marker: str) -> str:
    return upstream.commit({"team_daily.py": dag_text("team_daily", marker)}, marker)


def test_a_token_over_http_fetches_and_reaches_no_file_and_no_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served = tmp_path / "served"
    served.mkdir()
    upstream = Upstream(served, "team")
    sha = team_commit(upstream, "v1")
    with running_git_http(served, TOKEN) as http:
        entry = {"url": http.url("team"), "auth_type": "oauth_token", "token_env": "TEAM_TOKEN"}
        monkeypatch.setenv("TEAM_TOKEN", TOKEN)
        result = promoter(tmp_path, entry).sync("team")
        assert (result.outcome, result.promoted) == ("promoted", sha), result
        assert any(r.auth == "ok" for r in http.requests)
        monkeypatch.setenv("TEAM_TOKEN", "tok-wrong-" + "y" * 20)
        team_commit(upstream, "v2")
        refused = promoter(tmp_path, entry).sync("team")
        assert (refused.outcome, refused.promoted) == ("unreachable", sha), refused
        assert any(r.auth == "wrong" and r.status == 403 for r in http.requests)
        assert "tok-wrong" not in refused.detail
        monkeypatch.delenv("TEAM_TOKEN")
        unset = promoter(tmp_path, entry).sync("team")
        assert unset.outcome == "failed" and "TEAM_TOKEN is not set" in unset.detail
    assert read_pointer(LocalStore(tmp_path / "store"), "dev", "team").version == sha
    written = [p for p in files_holding(tmp_path, TOKEN) if "served" not in p.parts]
    assert written == [], written  # not the mirror's config, the state, the audit, the store


@pytest.mark.parametrize("key_from", ["file", "env"])
def test_an_ssh_key_with_a_pinned_host_key_fetches_and_another_host_key_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key_from: str
) -> None:
    served = tmp_path / "served"
    served.mkdir()
    upstream = Upstream(served, "team")
    sha = team_commit(upstream, "v1")
    key, public = make_client_key(tmp_path / "keys")
    known_hosts = tmp_path / "keys" / "known_hosts"
    with running_git_ssh(served, public) as ssh:
        entry = {"url": ssh.url("team"), "auth_type": "ssh_key",
                 "known_hosts_file": str(known_hosts)}  # fmt: skip
        if key_from == "file":
            entry["ssh_key_file"] = str(key)
        else:  # the key's text in a variable, as CI systems hand secrets over
            monkeypatch.setenv("TEAM_SSH_KEY", key.read_text())
            entry["ssh_key_env"] = "TEAM_SSH_KEY"
        _, other = make_client_key(tmp_path / "other")  # any key but the server's
        known_hosts.write_text(f"[127.0.0.1]:{ssh.port} {other.split()[0]} {other.split()[1]}\n")
        wrong = promoter(tmp_path, entry).sync("team")
        assert wrong.outcome == "unreachable", wrong
        assert "Host key verification failed" in wrong.detail, wrong.detail
        assert read_pointer(LocalStore(tmp_path / "store"), "dev", "team").version is None
        known_hosts.write_text(ssh.known_hosts_line + "\n")
        result = promoter(tmp_path, entry).sync("team")
        assert (result.outcome, result.promoted) == ("promoted", sha), result
    private = "".join(key.read_text().strip().splitlines()[2:-1])  # past the common header
    written = [p for p in files_holding(tmp_path, private) if p != key]
    assert written == [], written  # the key was used from a private temporary copy only
