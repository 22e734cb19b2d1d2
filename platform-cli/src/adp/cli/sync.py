"""`adp sync`: the sync agent (a sidecar, an init container with --once, or an entrypoint with
--exec -- CMD). Thin over adp.sync.

Exit codes: 0 a good sync (--once) or --check healthy, 1 a failed sync or unhealthy, 2 a
missing or invalid setting (``SettingsError``, each problem printed by the one handler of
``adp.cli.errors``); with --exec, the program's own exit code.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from adp.cli.errors import option_name
from adp.errors import UsageError
from adp.sync.agent import Agent, run_with_exec
from adp.sync.cycle import Syncer
from adp.sync.health import HealthServer, default_max_age, read_health, verdict
from adp.sync.layout import SyncDir
from adp.sync.settings import HealthSettings, SyncSettings, open_checked_store


def _log(message: str) -> None:
    print(f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ} adp sync: {message}", file=sys.stderr)


def _option(field: str) -> Any:
    """The flag of a SyncSettings field; its help, variable and default are the model's."""
    return typer.Option(option_name(field), help=SyncSettings.help(field), show_default=False)


def sync_command(
    ctx: typer.Context,
    store: Annotated[str | None, _option("store")] = None,
    env: Annotated[str | None, _option("env")] = None,
    sync_dir: Annotated[Path | None, _option("sync_dir")] = None,
    interval: Annotated[float | None, _option("interval")] = None,
    health_port: Annotated[int | None, _option("health_port")] = None,
    health_host: Annotated[str | None, _option("health_host")] = None,
    health_max_age: Annotated[float | None, _option("health_max_age")] = None,
    keep: Annotated[int | None, _option("keep")] = None,
    endpoint_url: Annotated[str | None, _option("endpoint_url")] = None,
    no_record: Annotated[
        bool,
        typer.Option(
            "--no-record-snapshots",
            help="Do not write <env>/_snapshots/<id>.json (read-only credentials; "
            f"{SyncSettings.variable('record_snapshots')}=false).",
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
        raise UsageError("--exec needs a command after --: adp sync --exec -- CMD ARGS")
    if command and not exec_:
        raise UsageError(f"unexpected arguments {command}: give --exec -- CMD to run a program")
    settings = SyncSettings.load(options, flag=option_name)  # SettingsError: exit 2
    fresh = SyncDir(settings.sync_dir).current_id() is None
    store_ = open_checked_store(settings, reach=fresh)
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


def _check(options: Mapping[str, object]) -> int:
    """--check: 0 if health.json shows a good sync young enough, 1 otherwise."""
    settings = HealthSettings.load(
        {field: options.get(field) for field in HealthSettings.model_fields}, flag=option_name
    )
    max_age = settings.health_max_age or default_max_age(settings.interval)
    healthy, body = verdict(read_health(SyncDir(settings.sync_dir).health), max_age)
    typer.echo(f"{'healthy' if healthy else 'unhealthy'}: {json.dumps(body, sort_keys=True)}")
    return 0 if healthy else 1
