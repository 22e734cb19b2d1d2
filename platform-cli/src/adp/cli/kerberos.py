"""`adp kerberos`: host-side help for the platform's Kerberos ticket sharer (thin commands
over adp.kerberos).

A missing ticket is a ``TicketError`` (exit 1): with --json it is the JSON answer on stdout,
otherwise the one handler of ``adp.cli.errors`` prints it."""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from adp.kerberos.export import (
    TicketError,
    default_export_path,
    export_cache,
    is_file_based,
    read_cache,
)

app = typer.Typer(
    name="kerberos",
    help=(
        "Kerberos tickets for datakits. The platform's ticket sharer copies your TGT into the "
        "platform_kerberos_cache volume; these commands help on the host."
    ),
    no_args_is_help=True,
)


def _refuse(error: TicketError, as_json: bool) -> NoReturn:
    """--json: ``{"ok": false, "error": ...}`` on stdout and exit 1; else ``error`` goes on."""
    if as_json:
        typer.echo(json.dumps({"ok": False, "error": str(error)}))
        raise typer.Exit(error.exit_code)
    raise error


@app.command("export")
def export_command(
    source: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="Cache to read, e.g. KCM:1000 or KEYRING:persistent:1000. Default: "
            "KRB5CCNAME, else your libkrb5 default.",
        ),
    ] = None,
    destination: Annotated[
        Path | None,
        typer.Option(
            "--to",
            help="FILE cache to write. Default: $ADP_KERBEROS_EXPORT, else "
            "~/.cache/adp/kerberos/krb5cc (where `make platform-start` looks for it).",
        ),
    ] = None,
    watch: Annotated[
        bool,
        typer.Option(
            "--watch",
            help="Keep running: export again whenever the source changes (kinit, renewal), "
            "and delete the export when the source has no valid TGT any more (kdestroy).",
        ),
    ] = False,
    interval: Annotated[
        float, typer.Option(help="Seconds between checks with --watch.", min=0.1)
    ] = 1.0,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (one object per export).")
    ] = False,
) -> None:
    """Write a KCM:/KEYRING: (or any) credential cache as a FILE cache for the ticket sharer.

    Use it when `klist` shows `Ticket cache: KCM:...` or `KEYRING:...`: the sharer cannot
    read those. Run it after each `kinit`, or once with --watch. Exit codes: 0 exported,
    1 no valid ticket (the message says what to run), 2 usage error.
    """
    target = destination or default_export_path()
    last: str | None = None
    while True:
        try:
            summary = export_cache(source, target)
        except TicketError as exc:
            if not watch:
                _refuse(exc, as_json)
            if last is not None:
                with contextlib.suppress(FileNotFoundError):
                    target.unlink()
                typer.echo(f"adp kerberos: {exc}; removed {target}", err=True)
            last = None
        else:
            if summary.fingerprint != last:
                report = {**asdict(summary), "exported_to": str(target), "ok": True}
                if as_json:
                    typer.echo(json.dumps(report))
                else:
                    local = time.localtime(summary.tgt_expires)
                    expires = time.strftime("%Y-%m-%d %H:%M:%S %Z", local)
                    typer.echo(
                        f"exported {summary.principal}'s tickets from {summary.cache} to "
                        f"FILE:{target} (TGT valid until {expires})"
                    )
                last = summary.fingerprint
        if not watch:
            return
        time.sleep(interval)


@app.command("status")
def status_command(
    source: Annotated[
        str | None, typer.Option("--from", help="Cache to check (default as for export).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON object.")] = False,
) -> None:
    """Show whose TGT the host holds and until when; exit 1 (with what to run) if none."""
    try:
        _, _, _, _, summary = read_cache(source)
    except TicketError as exc:
        _refuse(exc, as_json)
    data = asdict(summary)
    data.pop("fingerprint")
    if as_json:
        typer.echo(json.dumps({**data, "ok": True}))
        return
    left = int(summary.tgt_expires - time.time())
    typer.echo(f"cache:     {summary.cache}")
    typer.echo(f"principal: {summary.principal}")
    typer.echo(f"TGT valid: {left // 3600} h {left % 3600 // 60} min more")
    if not is_file_based(summary.cache):
        typer.echo("note:      the sharer cannot read this cache type; run: adp kerberos export")
