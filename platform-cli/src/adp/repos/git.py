"""Running git for one repository, with its credentials and nothing else of the user's.

Invariants: a token reaches git only through the environment of one process (a credential
helper that echoes an environment variable), never an argument, a URL or a file; an SSH key is
used with strict host key checking against the pinned known_hosts only; git never prompts; the
user's and the system's git configuration and ``~/.netrc`` are not read; every message that
leaves this module has the secret replaced by ``***``.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from adp.errors import Failure
from adp.repos.config import ReposConfig, Repository

TOKEN_VAR = "ADP_GIT_TOKEN"
TIMEOUT = 120.0
# git asks its helper for credentials; this one answers from the environment only.
HELPER = (
    '!f() { test "$1" = get && '
    'printf "username=%s\\npassword=%s\\n" "$ADP_GIT_USER" "$ADP_GIT_TOKEN"; }; f'
)


class GitError(Failure, RuntimeError):
    """A git command failed; the message names the repository and holds no secret."""


class CredentialError(GitError):
    """A credential named in airflow-repos.yaml cannot be read."""


@dataclass
class Credentials:
    """What one git process of a repository needs: environment and ``-c`` options."""

    env: dict[str, str] = field(default_factory=dict)
    options: list[str] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            if secret:
                text = text.replace(secret, "***")
        return text


def read_secret(config: ReposConfig, env_name: str | None, file: Path | None, what: str) -> str:
    """The secret in environment variable ``env_name`` or in ``file``, stripped."""
    if env_name is not None:
        value = os.environ.get(env_name, "").strip()
        if not value:
            raise CredentialError(f"{what}: environment variable {env_name} is not set or empty")
        return value
    if file is not None:
        path = config.resolve(file)
        try:
            value = path.read_text(encoding="utf-8").strip()
        except OSError as error:
            raise CredentialError(f"{what}: cannot read {path} ({error.strerror})") from None
        if not value:
            raise CredentialError(f"{what}: {path} is empty")
        return value
    raise CredentialError(f"{what}: no secret configured")


@contextlib.contextmanager
def credentials(config: ReposConfig, repo: Repository) -> Iterator[Credentials]:
    """The environment and options git needs for ``repo``; an SSH key given in a file is
    copied to a private temporary file (ssh refuses keys others can read), removed after."""
    creds = Credentials(
        env={
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
        },
        options=[
            "-c",
            "credential.helper=",
            "-c",
            "core.askPass=",
            "-c",
            "protocol.ext.allow=never",
            "-c",
            "http.followRedirects=false",  # a token is never sent on to another host
            "-c",
            "transfer.fsckObjects=true",
        ],
    )
    where = f"repository {repo.name}"
    if repo.auth_type == "oauth_token":
        token = read_secret(config, repo.token_env, repo.token_file, f"{where}: token")
        creds.env.update({TOKEN_VAR: token, "ADP_GIT_USER": repo.token_username})
        creds.options += ["-c", f"credential.helper={HELPER}"]
        creds.secrets.append(token)
        creds.env["GIT_SSH_COMMAND"] = "false"
        yield creds
        return
    if repo.auth_type == "public":
        creds.env["GIT_SSH_COMMAND"] = "false"
        yield creds
        return
    assert repo.known_hosts_file is not None
    known_hosts = config.resolve(repo.known_hosts_file)
    if not known_hosts.is_file():
        raise CredentialError(f"{where}: known_hosts_file {known_hosts} does not exist")
    if repo.ssh_key_env is not None:
        text = os.environ.get(repo.ssh_key_env, "").strip()
        if not text:
            raise CredentialError(f"{where}: environment variable {repo.ssh_key_env} is not set")
        key = (text + "\n").encode()
        creds.secrets.append(text)
    else:
        assert repo.ssh_key_file is not None
        key_path = config.resolve(repo.ssh_key_file)
        try:
            key = key_path.read_bytes()
        except OSError as error:
            raise CredentialError(
                f"{where}: cannot read ssh_key_file {key_path} ({error.strerror})"
            ) from None
    with tempfile.TemporaryDirectory(prefix="adp-ssh-") as folder:
        private = Path(folder) / "key"
        fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key)
        creds.env["GIT_SSH_COMMAND"] = " ".join(
            [
                "ssh",
                "-F",
                os.devnull,
                "-i",
                _quote(private),
                "-o",
                "IdentitiesOnly=yes",
                "-o",
                "IdentityAgent=none",
                "-o",
                "BatchMode=yes",
                "-o",
                "StrictHostKeyChecking=yes",
                "-o",
                f"UserKnownHostsFile={_quote(known_hosts)}",
                "-o",
                "GlobalKnownHostsFile=/dev/null",
                "-o",
                "ConnectTimeout=15",
            ]
        )
        yield creds


def _quote(path: Path) -> str:
    text = str(path)
    if any(c in text for c in " '\"\\$`"):
        raise CredentialError(f"{text}: a path with spaces or quotes cannot be passed to ssh")
    return text


def run(
    args: Sequence[str],
    git_dir: Path | None = None,
    creds: Credentials | None = None,
    input: bytes | None = None,
    timeout: float = TIMEOUT,
) -> bytes:
    """``git [--git-dir] [options] args``; its stdout, or GitError with stderr redacted."""
    creds = creds or Credentials(
        env={
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
        }
    )
    command = ["git", *creds.options]
    if git_dir is not None:
        command += ["--git-dir", str(git_dir)]
    command += list(args)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GIT_", "SSH_")) and k not in ("DISPLAY", "SSH_ASKPASS")
    }
    # No ~/.netrc: curl would send its entries (a "default" one to any host) with every request.
    env["HOME"] = os.devnull
    env.update(creds.env)
    try:
        done = subprocess.run(
            command, input=input, capture_output=True, env=env, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        raise GitError(f"git {args[0]} did not finish in {timeout:.0f} s") from None
    except OSError as error:
        raise GitError(f"cannot run git ({error.strerror}); install git") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip() or f"exit {done.returncode}"
        raise GitError(creds.redact(f"git {args[0]}: {message[-1500:]}"))
    return done.stdout
