"""running_git_http / running_git_ssh: real git servers on 127.0.0.1 serving the bare
repositories under a folder, to the given token or key only, gone on exit."""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
from pathlib import Path

import pytest
from adp_test_servers.git_servers import (
    git_ssh_command,
    make_client_key,
    running_git_http,
    running_git_ssh,
)

TOKEN = "adp-test-token-5f1c9e"
# A credential helper that reads the token from the environment: nothing is written anywhere.
HELPER = '!f() { echo username=x-access-token; echo "password=$ADP_GIT_TOKEN"; }; f'


def git_env(**extra: str) -> dict[str, str]:
    """No user or system git config, no prompts, a fixed author."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "SSH_"))}
    env.update(
        GIT_CONFIG_GLOBAL="/dev/null",
        GIT_CONFIG_NOSYSTEM="1",
        GIT_TERMINAL_PROMPT="0",
        GIT_AUTHOR_NAME="Test",
        GIT_AUTHOR_EMAIL="test@example.invalid",
        GIT_COMMITTER_NAME="Test",
        GIT_COMMITTER_EMAIL="test@example.invalid",
    )
    env.update(extra)
    return env


def git(*args: str, env: dict[str, str] | None = None, check: bool = True) -> str:
    done = subprocess.run(
        ["git", *args], capture_output=True, text=True, env=env or git_env(), timeout=30
    )
    if check and done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} exited {done.returncode}: {done.stderr}")
    return done.stdout + done.stderr


def bare_repo(root: Path, name: str, tmp: Path) -> Path:
    """`root`/`name`.git with one commit on main."""
    bare = root / f"{name}.git"
    git("init", "-q", "--bare", "-b", "main", str(bare))
    work = tmp / f"seed-{name}"
    git("init", "-q", "-b", "main", str(work))
    (work / "dag.py").write_text("print('v1')\n")
    git("-C", str(work), "add", ".")
    git("-C", str(work), "commit", "-q", "-m", "v1")
    git("-C", str(work), "push", "-q", str(bare), "main")
    return bare


def commit_file(clone: Path, name: str, content: bytes) -> str:
    (clone / name).write_bytes(content)
    git("-C", str(clone), "add", name)
    git("-C", str(clone), "commit", "-q", "-m", f"add {name}")
    return git("-C", str(clone), "rev-parse", "HEAD").strip()


def closed(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def test_http_clone_and_push_with_the_token(tmp_path: Path) -> None:
    root = tmp_path / "repos"
    bare = bare_repo(root, "team", tmp_path)
    with running_git_http(root, TOKEN) as http:
        assert http.url("team") == f"http://127.0.0.1:{http.port}/team.git"
        env = git_env(ADP_GIT_TOKEN=TOKEN)
        clone = tmp_path / "clone"
        helper = ["-c", "credential.helper=", "-c", f"credential.helper={HELPER}"]
        git(*helper, "clone", "-q", http.url("team"), str(clone), env=env)
        assert (clone / "dag.py").read_text() == "print('v1')\n"
        head = commit_file(clone, "second.py", b"print('v2')\n")
        git(*helper, "-C", str(clone), "push", "-q", "origin", "main", env=env)
        assert git("--git-dir", str(bare), "rev-parse", "main").strip() == head
        # The only refusals were git's first, anonymous tries (answered 401, then retried).
        assert {(r.auth, r.status) for r in http.refused} == {("missing", 401)}
        assert any(r.auth == "ok" and "git-receive-pack" in r.path for r in http.requests)
        # The token came from the environment only: no file of the clone holds it.
        files = [p for p in (clone / ".git").rglob("*") if p.is_file()]
        assert [p for p in files if TOKEN.encode() in p.read_bytes()] == []
        assert TOKEN not in git("-C", str(clone), "remote", "get-url", "origin")
    assert closed(http.port)


def test_http_push_larger_than_the_post_buffer_is_sent_chunked_and_lands(tmp_path: Path) -> None:
    root = tmp_path / "repos"
    bare = bare_repo(root, "team", tmp_path)
    with running_git_http(root, TOKEN) as http:
        env = git_env(ADP_GIT_TOKEN=TOKEN)
        helper = ["-c", "credential.helper=", "-c", f"credential.helper={HELPER}"]
        clone = tmp_path / "clone"
        git(*helper, "clone", "-q", http.url("team"), str(clone), env=env)
        head = commit_file(clone, "big.bin", os.urandom(256 * 1024))  # incompressible
        git(*helper, "-c", "http.postBuffer=4096", "-C", str(clone), "push", "-q", "origin",
            "main", env=env)  # fmt: skip
        assert git("--git-dir", str(bare), "rev-parse", "main").strip() == head
        assert any(r.chunked and r.status == 200 for r in http.requests), http.requests


@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_http_refuses_a_clone_without_or_with_a_wrong_token(
    tmp_path: Path, token: str | None
) -> None:
    root = tmp_path / "repos"
    bare_repo(root, "team", tmp_path)
    with running_git_http(root, TOKEN) as http:
        args = ["-c", "credential.helper="]
        env = git_env()
        if token is not None:
            args += ["-c", f"credential.helper={HELPER}"]
            env = git_env(ADP_GIT_TOKEN=token)
        out = git(*args, "clone", "-q", http.url("team"), str(tmp_path / "c"), env=env, check=False)
        assert not (tmp_path / "c" / "dag.py").exists(), out
        assert http.requests and all(r.auth != "ok" for r in http.requests)
        if token is None:
            assert {(r.auth, r.status) for r in http.requests} == {("missing", 401)}
        else:
            assert ("wrong", 403) in {(r.auth, r.status) for r in http.requests}
            assert "403" in out


def test_http_refuses_a_push_with_a_wrong_token(tmp_path: Path) -> None:
    root = tmp_path / "repos"
    bare = bare_repo(root, "team", tmp_path)
    before = git("--git-dir", str(bare), "rev-parse", "main").strip()
    with running_git_http(root, TOKEN) as http:
        helper = ["-c", "credential.helper=", "-c", f"credential.helper={HELPER}"]
        clone = tmp_path / "clone"
        git(*helper, "clone", "-q", http.url("team"), str(clone), env=git_env(ADP_GIT_TOKEN=TOKEN))
        commit_file(clone, "second.py", b"print('v2')\n")
        seen = len(http.requests)
        out = git(*helper, "-C", str(clone), "push", "origin", "main",
                  env=git_env(ADP_GIT_TOKEN="wrong-token"), check=False)  # fmt: skip
        assert "403" in out
        assert ("wrong", 403) in {(r.auth, r.status) for r in http.requests[seen:]}
        assert all(r.auth != "ok" for r in http.requests[seen:])
    assert git("--git-dir", str(bare), "rev-parse", "main").strip() == before


def test_ssh_clone_and_push_with_the_key_and_the_pinned_host_key(tmp_path: Path) -> None:
    root = tmp_path / "repos"
    bare = bare_repo(root, "team", tmp_path)
    key, public = make_client_key(tmp_path / "client")
    assert public.startswith("ssh-ed25519 ")
    with running_git_ssh(root, public) as ssh:
        assert ssh.url("team") == f"ssh://{ssh.user}@127.0.0.1:{ssh.port}{root.resolve()}/team.git"
        assert ssh.known_hosts_line == f"[127.0.0.1]:{ssh.port} {ssh.host_public_key}"
        known_hosts = tmp_path / "known_hosts"
        known_hosts.write_text(ssh.known_hosts_line + "\n")
        env = git_env(GIT_SSH_COMMAND=git_ssh_command(key, known_hosts))
        clone = tmp_path / "clone"
        git("clone", "-q", ssh.url("team"), str(clone), env=env)
        assert (clone / "dag.py").read_text() == "print('v1')\n"
        head = commit_file(clone, "second.py", b"print('v2')\n")
        git("-C", str(clone), "push", "-q", "origin", "main", env=env)
        assert git("--git-dir", str(bare), "rev-parse", "main").strip() == head
        directory = ssh.directory
    assert closed(ssh.port)
    assert not directory.exists()


def test_ssh_refuses_a_host_key_other_than_the_pinned_one(tmp_path: Path) -> None:
    root = tmp_path / "repos"
    bare_repo(root, "team", tmp_path)
    key, public = make_client_key(tmp_path / "client")
    _, other_host_key = make_client_key(tmp_path / "other")  # another ed25519 key
    with running_git_ssh(root, public) as ssh:
        known_hosts = tmp_path / "known_hosts"
        other = " ".join(other_host_key.split()[:2])
        known_hosts.write_text(f"[127.0.0.1]:{ssh.port} {other}\n")
        env = git_env(GIT_SSH_COMMAND=git_ssh_command(key, known_hosts))
        out = git("clone", "-q", ssh.url("team"), str(tmp_path / "c"), env=env, check=False)
        assert "REMOTE HOST IDENTIFICATION HAS CHANGED" in out
        assert "Host key verification failed" in out
        assert not (tmp_path / "c" / "dag.py").exists()


def test_ssh_refuses_another_key_and_anything_but_git(tmp_path: Path) -> None:
    root = tmp_path / "repos"
    bare_repo(root, "team", tmp_path)
    key, public = make_client_key(tmp_path / "client")
    stranger, _ = make_client_key(tmp_path / "stranger")
    with running_git_ssh(root, public) as ssh:
        known_hosts = tmp_path / "known_hosts"
        known_hosts.write_text(ssh.known_hosts_line + "\n")
        env = git_env(GIT_SSH_COMMAND=git_ssh_command(stranger, known_hosts))
        out = git("clone", "-q", ssh.url("team"), str(tmp_path / "c"), env=env, check=False)
        assert "Permission denied (publickey)" in out
        # The right key gets git-shell only: no command of its own.
        ssh_argv = [*shlex.split(git_ssh_command(key, known_hosts)), "-p", str(ssh.port)]
        done = subprocess.run(
            [*ssh_argv, f"{ssh.user}@127.0.0.1", "id"],
            capture_output=True, text=True, timeout=15, env=git_env(),
        )  # fmt: skip
        assert done.returncode != 0
        assert "uid=" not in done.stdout


def test_ssh_without_sshd_names_the_debian_packages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from adp_test_servers import ServerUnavailable, git_servers

    real_which = shutil.which
    monkeypatch.setattr(
        git_servers.shutil,
        "which",
        lambda name, **kw: None if name == "sshd" else real_which(name, **kw),
    )
    with (
        pytest.raises(ServerUnavailable, match="openssh-server openssh-client"),
        running_git_ssh(tmp_path, "ssh-ed25519 AAAA"),
    ):
        pass
