"""`adp doctor`: one line per prerequisite, each with its fix (thin over adp.doctor)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from adp.errors import Failure

MARKS = {"ok": "ok  ", "fail": "FAIL", "warn": "warn", "skip": "skip"}


def doctor_command(
    layer1_image: Annotated[
        str | None,
        typer.Option(
            help="Layer-1 image to check (default: the datakit's FROM, else "
            "$LAYER1_IMAGE:latest, else layer1-airflow:latest)."
        ),
    ] = None,
    kerberos: Annotated[
        bool | None,
        typer.Option(
            "--kerberos/--no-kerberos",
            help="Treat the Kerberos checks as required (default: when the datakit here "
            "mounts the shared ticket).",
        ),
    ] = None,
    astro: Annotated[
        bool, typer.Option("--astro", help="Treat the Astro CLI as required.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
) -> None:
    """Check this machine's prerequisites for building and running datakits.

    Docker engine, a BuildKit-capable client, the Layer-1 image and its version, the
    corporate CA, credential files (path and mode only, never their content), the host's
    Kerberos ticket and the shared copy, the Astro CLI, ports. Exit 0 when every required
    check passes, 1 otherwise.
    """
    try:
        from adp.doctor import Context, failed, run_checks
    except ImportError as exc:
        raise Failure(
            f"{exc}: adp doctor needs the Docker SDK: pip install 'platform-cli[dev]'"
        ) from None
    checks = run_checks(
        Context(layer1_image=layer1_image, require_kerberos=kerberos, require_astro=astro)
    )
    if as_json:
        typer.echo(json.dumps([c.as_dict() for c in checks], indent=2))
    else:
        for check in checks:
            typer.echo(f"{MARKS[check.status]}  {check.name:<17} {check.detail}")
            if check.status != "ok" and check.fix:
                typer.echo(f"      {'':<17} fix: {check.fix}")
    raise typer.Exit(1 if failed(checks) else 0)
