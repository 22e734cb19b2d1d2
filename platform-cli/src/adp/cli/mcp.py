"""`adp mcp`: the MCP server for chat assistants, over stdio (thin over adp.mcp).

The operator's credential policy is set here and nowhere else: the variables
(``--credential-env``) and the secrets folder (``--secrets-dir``) a chat may name, and the
hosts (``--allow-host``) a credential may go to. Without them a chat adds public repositories
only. Exit codes: 0 the client closed the connection, 2 bad options or the SDK is not
installed (a ``UsageError``, printed by the one handler of ``adp.cli.errors``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from adp.cli.repos import Actor, AirflowUrl, ConfigPath
from adp.errors import UsageError
from adp.operations.repos import DEFAULT_FILE, ENV_VAR_RE

if TYPE_CHECKING:
    from adp.mcp.credential_policy import CredentialPolicy


def mcp_command(
    config: ConfigPath = Path(DEFAULT_FILE),
    actor: Actor = None,
    airflow_url: AirflowUrl = None,
    validate_root: Annotated[
        list[Path] | None,
        typer.Option(
            "--validate-root",
            help="A folder whose files validate_dag_file may read (repeatable; default: the "
            "current folder).",
        ),
    ] = None,
    receiver_url: Annotated[
        str | None,
        typer.Option(
            "--receiver-url",
            envvar="ADP_RECEIVER_URL",
            help="The webhook receiver's public URL (https://hooks.example.com), to give "
            "providers whole webhook URLs.",
        ),
    ] = None,
    credential_env: Annotated[
        list[str] | None,
        typer.Option(
            "--credential-env",
            envvar="ADP_MCP_CREDENTIAL_ENV",
            help="An environment variable holding a credential that a chat may name "
            "(token_env, ssh_key_env, webhook_secret_env); repeatable (the variable: names "
            "separated by spaces). No other variable can be named.",
        ),
    ] = None,
    secrets_dir: Annotated[
        Path | None,
        typer.Option(
            "--secrets-dir",
            envvar="ADP_MCP_SECRETS_DIR",
            help="The folder of token and key files a chat may name (token_file, "
            "ssh_key_file, known_hosts_file, webhook_secret_file), links followed; no other "
            "file can be named.",
        ),
    ] = None,
    allow_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-host",
            envvar="ADP_MCP_ALLOW_HOST",
            help="A git host a repository with a credential may be on: git.example.com, "
            "*.example.com (the names under it), host:port; repeatable (the variable: hosts "
            "separated by spaces). Without one, a chat adds public repositories only.",
        ),
    ] = None,
) -> None:
    """Serve the DAG-source tools to a chat assistant over stdio (the MCP protocol): list
    and inspect sources, add, sync, approve, roll back and remove git repositories, validate
    a DAG file. Register it with your MCP client; docs/chat-assistants.md shows how."""
    try:
        from adp.mcp.operations import Settings
        from adp.mcp.server import serve
    except ModuleNotFoundError as error:
        if not (error.name or "").startswith("mcp"):
            raise
        raise UsageError(
            f"adp mcp needs the MCP Python SDK 2.x ({error.name} is missing): "
            "pip install 'platform-cli[mcp]'"
        ) from None
    roots = [p.absolute() for p in validate_root] if validate_root else [Path.cwd()]
    missing = [str(p) for p in roots if not p.is_dir()]
    if missing:
        raise UsageError(f"--validate-root {', '.join(missing)}: not a folder")
    settings = Settings(
        config=config.absolute(),
        actor=actor,
        airflow_url=airflow_url,
        validate_roots=roots,
        webhook_base_url=receiver_url,
        policy=_policy(credential_env or [], secrets_dir, allow_host or []),
    )
    serve(settings)


def _policy(envs: list[str], secrets_dir: Path | None, hosts: list[str]) -> CredentialPolicy:
    """The operator's credential policy from the options; exit 2 naming a bad value."""
    from adp.mcp.credential_policy import CredentialPolicy
    from adp.mcp.hosts import HostAllowList, HostError, HostPattern

    for name in envs:
        if not ENV_VAR_RE.fullmatch(name):
            raise UsageError(
                f"--credential-env {name!r}: not a variable's name (uppercase letters, digits "
                "and '_'): name the variable that holds the credential"
            )
    folder = None
    if secrets_dir is not None:
        folder = Path(os.path.abspath(secrets_dir))
        if not folder.is_dir():
            raise UsageError(f"--secrets-dir {folder}: not a folder; create it or give another")
    patterns = []
    for entry in hosts:
        try:
            patterns.append(HostPattern.parse(entry))
        except HostError as error:
            raise UsageError(f"--allow-host {error}") from None
    return CredentialPolicy(frozenset(envs), folder, HostAllowList(tuple(patterns)))
