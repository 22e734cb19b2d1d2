"""`adp mcp`: the MCP server for chat assistants, over stdio (thin over adp.mcp).

Exit codes: 0 the client closed the connection, 2 bad options or the SDK is not installed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from adp.cli.repos import Actor, AirflowUrl, ConfigPath
from adp.repos.config import DEFAULT_FILE

err = Console(stderr=True, soft_wrap=True)


def _fail(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    return typer.Exit(2)


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
        raise _fail(
            f"adp mcp needs the MCP Python SDK 2.x ({error.name} is missing): "
            "pip install 'platform-cli[mcp]'"
        ) from None
    roots = [p.absolute() for p in validate_root] if validate_root else [Path.cwd()]
    missing = [str(p) for p in roots if not p.is_dir()]
    if missing:
        raise _fail(f"--validate-root {', '.join(missing)}: not a folder")
    settings = Settings(
        config=config.absolute(),
        actor=actor,
        airflow_url=airflow_url,
        validate_roots=roots,
        webhook_base_url=receiver_url,
    )
    serve(settings)
