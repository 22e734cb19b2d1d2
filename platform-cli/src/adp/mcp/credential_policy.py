"""Which credentials a chat may name, and where they may go: the operator's policy, set when
``adp mcp`` starts (``--credential-env``, ``--secrets-dir``, ``--allow-host``).

Invariants: a model never chooses a credential. A tool argument naming one is accepted only
when it names an allow-listed environment variable or a file whose real path (links
followed) lies inside the secrets folder; the path written into ``airflow-repos.yaml`` is
that checked path, absolute. A repository whose git access uses a credential (a token or an
SSH key: ``auth_type`` other than public) is accepted only when its URL's host matches the
host allow-list (``adp.mcp.hosts``); a webhook secret is never sent to the git host, so it
needs an allowed name but no allowed host. With no policy, no credential is accepted at all.
A refusal names the argument and the fix, never a value, and never says whether a file
outside the folder exists. (The server then asks the user before such a repository is
written: ``adp.mcp.server``.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePath

from adp.errors import UsageError
from adp.mcp.hosts import HostAllowList, HostError, endpoint_of
from adp.operations.repos import ENV_VAR_RE, NewRepository

ENV_FIELDS = ("token_env", "ssh_key_env", "webhook_secret_env")
FILE_FIELDS = ("token_file", "ssh_key_file", "webhook_secret_file", "known_hosts_file")
OPTIONS = (
    "--secrets-dir DIR (ADP_MCP_SECRETS_DIR: a folder of token and key files), "
    "--credential-env NAME (ADP_MCP_CREDENTIAL_ENV: a variable holding a credential, "
    "repeatable) and --allow-host HOST (ADP_MCP_ALLOW_HOST: a git host credentials may go "
    "to, repeatable)"
)


class PolicyError(UsageError, ValueError):
    """A credential reference or URL the policy refuses: ``loc`` is the tool argument, so
    ``str()`` starts with it (``token_env: ...``)."""

    def __init__(self, argument: str, message: str) -> None:
        super().__init__(message, loc=(argument,))
        self.argument = argument


def credential_fields(new: NewRepository) -> list[str]:
    """The arguments of ``new`` that name a credential (or a file read for ssh)."""
    return [f for f in (*ENV_FIELDS, *FILE_FIELDS) if getattr(new, f) is not None]


def has_credential(new: NewRepository) -> bool:
    """Whether adding ``new`` makes the platform read or send any credential."""
    return new.auth_type != "public" or bool(credential_fields(new))


def resolve_in_folder(folder: Path, given: str, argument: str = "path") -> Path:
    """The file ``given`` names in ``folder`` (relative to it, or absolute), as the absolute
    path to write: ``PolicyError`` unless its real path (every link followed) is a regular
    file inside the real ``folder``. ``..`` is refused outright, so the path written is the
    path checked."""
    shown = f"the secrets folder {folder}"
    if not given or "\x00" in given or any(ord(c) < 32 for c in given):
        raise PolicyError(argument, f"give a file name in {shown}")
    pure = PurePath(given)
    if ".." in pure.parts:
        raise PolicyError(
            argument, f"'..' is not allowed: name a file in {shown} by its name in the folder"
        )
    base = folder.absolute()
    candidate = Path(given) if pure.is_absolute() else base / pure
    try:
        root = folder.resolve(strict=True)
        real = candidate.resolve(strict=False)
    except (OSError, RuntimeError):  # a loop of links, a name too long
        real = None
    if real is None or real == root or not real.is_relative_to(root):
        raise PolicyError(
            argument,
            f"only files in {shown} (the operator's adp mcp --secrets-dir) may be named, once "
            "links are followed: put the credential there and give its name",
        )
    if not real.is_file():
        raise PolicyError(argument, f"{given}: no such file in {shown}")
    return candidate


@dataclass(frozen=True)
class CredentialPolicy:
    """The operator's policy: variable names, the secrets folder, the host allow-list."""

    envs: frozenset[str] = frozenset()
    secrets_dir: Path | None = None
    hosts: HostAllowList = field(default_factory=HostAllowList)

    @property
    def configured(self) -> bool:
        """Some credential may be named: an allowed variable or the secrets folder."""
        return bool(self.envs or self.secrets_dir)

    def describe(self) -> str:
        """The policy in one sentence, for the model (names only)."""
        if not self.configured:
            return (
                "No credential may be named here: the operator has not set adp mcp's "
                f"{OPTIONS}. Public repositories need none."
            )
        envs = ", ".join(sorted(self.envs)) or "none"
        folder = str(self.secrets_dir) if self.secrets_dir else "none"
        return (
            f"Credentials: token_env, ssh_key_env and webhook_secret_env may name only {envs}; "
            f"token_file, ssh_key_file, webhook_secret_file and known_hosts_file only files in "
            f"{folder}; a token or SSH key goes only to the hosts {self.hosts}; the user "
            "confirms every repository that names a credential, in the client."
        )

    def check(self, new: NewRepository) -> NewRepository:
        """``new`` with each credential file as the absolute path checked; ``PolicyError``
        (naming the argument) when a credential is not one the operator allowed or the URL's
        host is not allowed. A public repository without credentials passes unchanged."""
        if not has_credential(new):
            return new
        given = credential_fields(new) or ["auth_type"]
        if not self.configured:
            raise PolicyError(
                given[0],
                "a chat may add a repository with a credential only where the operator "
                f"allowed it: start adp mcp with {OPTIONS}. Until then add it with adp repos "
                "add, or add a public repository (nothing was written)",
            )
        checked: dict[str, str] = {}
        for argument in ENV_FIELDS:
            name = getattr(new, argument)
            if name is not None and (name not in self.envs or not ENV_VAR_RE.fullmatch(name)):
                allowed = ", ".join(sorted(self.envs)) or "none"
                raise PolicyError(
                    argument,
                    "not one of the environment variables the operator allowed (adp mcp "
                    f"--credential-env: {allowed}); the name given is not shown. Use one of "
                    "them, or ask the operator to allow the variable",
                )
        for argument in FILE_FIELDS:
            value = getattr(new, argument)
            if value is None:
                continue
            if self.secrets_dir is None:
                raise PolicyError(
                    argument,
                    "the operator set no secrets folder (adp mcp --secrets-dir): no file may "
                    "be named; use an allowed variable instead",
                )
            checked[argument] = str(resolve_in_folder(self.secrets_dir, value, argument))
        if new.auth_type == "public":
            return new.model_copy(update=checked)  # a webhook secret stays on this machine
        try:
            endpoint = endpoint_of(new.url)
        except HostError as error:
            raise PolicyError("url", f"{error} (nothing was written)") from None
        if not any(p.matches(endpoint) for p in self.hosts.patterns):
            raise PolicyError(
                "url",
                f"{endpoint} is not a host the operator allowed credentials to go to (adp mcp "
                f"--allow-host, ADP_MCP_ALLOW_HOST: {self.hosts}): use a repository on one of "
                "them, or ask the operator to allow the host (nothing was written)",
            )
        return new.model_copy(update=checked)
