"""`adp sync`: the sync agent (a sidecar, an init container with --once, or an entrypoint with
--exec -- CMD). Thin over adp.sync.

Exit codes: 0 a good sync (--once) or --check healthy, 1 a failed sync or unhealthy, 2 a
missing or invalid setting; with --exec, the program's own exit code.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from adp.sync.agent import Agent, run_with_exec
from adp.sync.cycle import Syncer
from adp.sync.health import HealthServer, default_max_age, read_health, verdict
from adp.sync.layout import SyncDir
from adp.sync.settings import SettingsError, load_settings, open_checked_store


def _log(message: str) -> None:
    print(f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ} adp sync: {message}", file=sys.stderr)


def sync_command(
    ctx: typer.Context,
    store: Annotated[
        str | None,
        typer.Option(
            "--store",
            help="Release store: s3://<bucket>, file:///<folder> or a path with a '/' "
            "(ADP_RELEASE_STORE).",
        ),
    ] = None,
    env: Annotated[str | None, typer.Option("--env", help="Environment (ADP_ENV).")] = None,
    sync_dir: Annotated[
        Path | None, typer.Option("--sync-dir", help="Local folder (ADP_SYNC_DIR).")
    ] = None,
    interval: Annotated[
        float | None,
        typer.Option("--interval", help="Seconds between syncs (ADP_SYNC_INTERVAL, 30)."),
    ] = None,
    health_port: Annotated[
        int | None,
        typer.Option(
            "--health-port", help="Serve GET /health on this port (ADP_SYNC_HEALTH_PORT)."
        ),
    ] = None,
    health_host: Annotated[
        str | None, typer.Option("--health-host", help="Health address (default 127.0.0.1).")
    ] = None,
    health_max_age: Annotated[
        float | None,
        typer.Option(
            "--health-max-age",
            help="Healthy while the last good sync is younger (default max(3 x interval, 90)).",
        ),
    ] = None,
    keep: Annotated[
        int | None, typer.Option("--keep", help="Local snapshots kept (ADP_SYNC_KEEP, 5).")
    ] = None,
    endpoint_url: Annotated[
        str | None, typer.Option("--endpoint-url", help="S3-compatible server (AWS_ENDPOINT_URL).")
    ] = None,
    no_record: Annotated[
        bool,
        typer.Option(
            "--no-record-snapshots",
            help="Do not write <env>/_snapshots/<id>.json (read-only credentials).",
        ),
    ] = False,
    once: Annotated[bool, typer.Option("--once", help="One sync, then exit 0 (ok) or 1.")] = False,
    check: Annotated[
        bool, typer.Option("--check", help="Read health.json: exit 0 healthy, 1 not.")
    ] = False,
    exec_: Annotated[
        bool, typer.Option("--exec", help="After the first good sync run the command after --.")
    ] = False,
) -> None:
    """Sync an environment's DAG releases into a local folder, atomically, and keep them."""
    command = list(ctx.args)
    options = {
        "store": store, "env": env, "sync_dir": sync_dir, "interval": interval,
        "health_port": health_port, "health_host": health_host,
        "health_max_age": health_max_age, "keep": keep, "endpoint_url": endpoint_url,
        "record_snapshots": False if no_record else None,
    }  # fmt: skip
    if check:
        raise typer.Exit(_check(options))
    if exec_ and not command:
        _fail(["--exec needs a command after --: adp sync --exec -- CMD ARGS"])
    if command and not exec_:
        _fail([f"unexpected arguments {command}: give --exec -- CMD to run a program"])
    try:
        settings = load_settings(options)
        fresh = SyncDir(settings.sync_dir).current_id() is None
        store_ = open_checked_store(settings, reach=fresh)
    except SettingsError as error:
        _fail(error.problems)
    syncer = Syncer(
        store_, settings.env, settings.sync_dir, settings.record_snapshots, settings.keep
    )
    agent = Agent(syncer, settings.interval, _log)
    server = None
    if settings.health_port is not None:
        max_age = settings.health_max_age or default_max_age(settings.interval)
        server = HealthServer(
            SyncDir(settings.sync_dir).health, settings.health_host, settings.health_port, max_age
        ).start()
        _log(f"health on http://{settings.health_host}:{server.port}/health")
    try:
        if once:
            result = agent.run_cycle()
            raise typer.Exit(0 if result.status == "ok" else 1)
        if exec_:
            raise typer.Exit(run_with_exec(agent, command))
        try:
            agent.run_forever()
        except KeyboardInterrupt:
            raise typer.Exit(0) from None
    finally:
        if server is not None:
            server.stop()


def _check(options: dict[str, object]) -> int:
    """--check: 0 if health.json shows a good sync young enough, 1 otherwise."""

    def value(field: str, variable: str) -> str | None:
        given = options.get(field)
        return str(given) if given is not None else os.environ.get(variable) or None

    directory = value("sync_dir", "ADP_SYNC_DIR")
    if not directory:
        _fail(["sync dir is not set: give --sync-dir or ADP_SYNC_DIR"])
    try:
        interval = float(value("interval", "ADP_SYNC_INTERVAL") or 30)
        given_age = value("health_max_age", "ADP_SYNC_HEALTH_MAX_AGE")
        max_age = float(given_age) if given_age else default_max_age(interval)
    except ValueError as error:
        _fail([f"--interval / --health-max-age: not a number ({error})"])
    healthy, body = verdict(read_health(SyncDir(Path(directory)).health), max_age)
    typer.echo(f"{'healthy' if healthy else 'unhealthy'}: {json.dumps(body, sort_keys=True)}")
    return 0 if healthy else 1


def _fail(problems: list[str]) -> NoReturn:
    print("adp sync: cannot start:", file=sys.stderr)
    for problem in problems:
        print(f"  - {problem}", file=sys.stderr)
    raise typer.Exit(2)
