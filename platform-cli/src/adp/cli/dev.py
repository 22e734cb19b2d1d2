"""`adp dev`: run a datakit in the local, Astro-shaped Airflow stack (thin over adp.dev).

A problem is a ``DevError`` or ``AirflowApiError`` (exit 1) or, for a bad --conf, a
``UsageError`` (exit 2); the one handler of ``adp.cli.errors`` prints it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from adp.dev.errors import DevError
from adp.dev.project import find_datakit
from adp.dev.settings import load_settings
from adp.errors import UsageError

if TYPE_CHECKING:
    import docker

    from adp.dev import stack as stack_lib

app = typer.Typer(
    name="dev",
    help=(
        "Run a datakit in a local Airflow shaped as `astro dev start` shapes it (postgres, "
        "db-migration, scheduler, dag-processor, api-server, triggerer), without the Astro "
        "CLI. Run it in the datakit's folder."
    ),
    no_args_is_help=True,
)
err = Console(stderr=True, highlight=False, soft_wrap=True)

ProjectDir = Annotated[
    Path | None,
    typer.Option(
        "--project-dir",
        "-p",
        help="The datakit's folder (default: the current folder or the nearest one above).",
        file_okay=False,
    ),
]


def _lib() -> Any:
    """adp.dev.stack, which needs the Docker SDK (the extra platform-cli[dev])."""
    try:
        from adp.dev import stack
    except ImportError as exc:
        raise DevError(
            f"{exc}: adp dev needs the Docker SDK: pip install 'platform-cli[dev]'"
        ) from None
    return stack


def _docker() -> docker.DockerClient:
    import docker
    import docker.errors

    try:
        client = docker.from_env()
        client.ping()
    except (docker.errors.DockerException, OSError) as exc:
        raise DevError(
            f"no Docker engine answers ({exc}); start it (scripts/ensure-docker in the "
            "platform repository does it on Debian), then re-run"
        ) from None
    return client


def _stack(project_dir: Path | None, **kwargs: object) -> stack_lib.Stack:
    stack_lib = _lib()
    return stack_lib.Stack(find_datakit(project_dir), load_settings(), **kwargs)


@app.command("start")
def start_command(
    project_dir: ProjectDir = None,
    port: Annotated[
        int | None,
        typer.Option("--port", help="Airflow UI/API port on 127.0.0.1 (ADP_DEV_API_PORT, 8080)."),
    ] = None,
    postgres_port: Annotated[
        int | None,
        typer.Option(
            "--postgres-port",
            help="Metadata database port on 127.0.0.1 (ADP_DEV_POSTGRES_PORT, 5432).",
        ),
    ] = None,
    build: Annotated[
        bool, typer.Option(help="Build the datakit image first (as astro dev start does).")
    ] = True,
    wait: Annotated[bool, typer.Option(help="Wait until Airflow reports healthy.")] = True,
) -> None:
    """Build the datakit image and start its Airflow; print the UI address when healthy.

    Merges the datakit's docker-compose.override.yml (the Kerberos ticket volume, say),
    passes .env to every Airflow container, and imports airflow_settings.yaml. Exit 1 with
    the reason (a taken port names the setting to change).
    """
    stack = _stack(project_dir, api_port=port, postgres_port=postgres_port)
    stack_lib = _lib()
    client = _docker()
    report = stack_lib.start(
        stack, client, build=build, wait=wait, say=lambda line: err.print(f"  {escape(line)}")
    )
    total = sum(seconds for _, seconds in report.steps)
    typer.echo(f"Airflow of {stack.datakit.name} is up in {total:.0f} s: {report.url}")
    typer.echo("  no login needed locally (every user is an admin, as under astro dev start)")
    if report.settings_applied:
        counts = ", ".join(f"{n} {kind}" for kind, n in report.settings_applied.items())
        typer.echo(f"  airflow_settings.yaml: {counts}")
    typer.echo("  stop it with: adp dev stop    logs: adp dev logs -f")


@app.command("stop")
def stop_command(
    project_dir: ProjectDir = None,
    volumes: Annotated[
        bool, typer.Option("--volumes", help="Also delete the metadata database volume.")
    ] = False,
) -> None:
    """Stop the datakit's Airflow and remove its containers (the database stays unless
    --volumes)."""
    stack = _stack(project_dir)
    stack_lib = _lib()
    stack_lib.stop(stack, volumes=volumes)
    typer.echo(f"stopped {stack.project}{' and deleted its volumes' if volumes else ''}")


@app.command("status")
def status_command(
    project_dir: ProjectDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON object.")] = False,
) -> None:
    """Each service's state and Airflow's health. Exit 1 when the stack is not healthy."""
    stack = _stack(project_dir)
    stack_lib = _lib()
    report = stack_lib.status(stack, _docker())
    health = report.get("health", {})
    healthy = bool(health) and all(v == "healthy" for v in health.values())
    if as_json:
        typer.echo(json.dumps({**report, "healthy": healthy}))
    else:
        typer.echo(f"stack {report['project']}" + (f": {report['url']}" if "url" in report else ""))
        if not report["services"]:
            typer.echo("  not started (adp dev start)")
        for name, state in report["services"].items():
            typer.echo(f"  {name:<14} {state}")
        for name, state in health.items():
            typer.echo(f"  health {name:<14} {state}")
    raise typer.Exit(0 if healthy else 1)


@app.command("logs")
def logs_command(
    services: Annotated[
        list[str] | None, typer.Argument(help="Services (default: all), e.g. scheduler.")
    ] = None,
    project_dir: ProjectDir = None,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep following.")] = False,
    tail: Annotated[int, typer.Option(help="Lines per service to start with.")] = 100,
) -> None:
    """Show the logs of the stack's services (compose logs)."""
    stack = _stack(project_dir)
    args = ["logs", "--tail", str(tail), *(["--follow"] if follow else []), *(services or [])]
    argv = stack.compose_argv(*args)
    env = stack.compose_env()
    raise typer.Exit(subprocess.call(argv, stdout=sys.stdout, stderr=sys.stderr, env=env))


@app.command("pytest", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def pytest_command(ctx: typer.Context, project_dir: ProjectDir = None) -> None:
    """Run the datakit's tests inside its image (extra arguments go to pytest), with the
    project folders mounted and no network, as `astro dev pytest` does."""
    stack = _stack(project_dir)
    stack_lib = _lib()
    code, output = stack_lib.run_pytest(stack, _docker(), list(ctx.args))
    typer.echo(output, nl=False)
    raise typer.Exit(code)


@app.command("exec", context_settings={"allow_interspersed_args": False})
def exec_command(
    service: Annotated[
        str,
        typer.Argument(
            metavar="SERVICE",
            help="A service of the stack: scheduler, api-server, postgres, ... or one the "
            "datakit's docker-compose.override.yml adds (a warehouse database, say).",
        ),
    ],
    command: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="COMMAND",
            help="The command and its arguments, passed verbatim (options after SERVICE are "
            "the command's). Default: sh, reading its commands from standard input.",
            show_default=False,
        ),
    ] = None,
    project_dir: ProjectDir = None,
) -> None:
    """Run COMMAND in the running stack's SERVICE container (compose exec -T: no TTY, so it
    works in scripts and CI); its output is streamed and its exit code is adp's.

    adp's own options (-p DIR) go before SERVICE: adp dev exec warehouse psql -U pagila -c
    "SELECT 1". Exit 1 when SERVICE is not in the stack (the message lists its services)
    or not running.
    """
    argv = list(command or ["sh"])
    if argv[:1] == ["--"]:  # adp dev exec SERVICE -- COMMAND ...
        argv = argv[1:] or ["sh"]
    stack = _stack(project_dir)
    stack_lib = _lib()
    stack_lib.require_service(stack, service)
    client = _docker()
    code = stack_lib.exec_in(stack, client, service, argv)
    raise typer.Exit(code)


CONF_EXAMPLE = """--conf '{"day": "2024-01-31"}'"""


def parse_conf(text: str | None) -> dict[str, Any] | None:
    """The run's conf from --conf: a JSON object. Anything else exits 2 naming --conf and
    what is wrong, before the stack or Docker is looked at."""
    if text is None:
        return None
    try:
        conf = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"--conf is not JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); "
            f"pass a JSON object, e.g. {CONF_EXAMPLE}"
        ) from None
    if not isinstance(conf, dict):
        kind = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
            type(conf), "a number"
        )
        raise UsageError(
            f"--conf must be a JSON object (the DAG run's conf), not {kind}; e.g. {CONF_EXAMPLE}"
        )
    return conf


@app.command("trigger")
def trigger_command(
    dag_id: Annotated[str, typer.Argument(help="The DAG to run.")],
    project_dir: ProjectDir = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the run.")] = 300,
    conf: Annotated[
        str | None,
        typer.Option(
            "--conf",
            help="The run's conf, a JSON object (what `airflow dags trigger --conf` takes), "
            """e.g. '{"day": "2024-01-31"}'.""",
        ),
    ] = None,
) -> None:
    """Unpause DAG_ID, trigger a run through the REST API (with --conf as its conf) and
    wait for it; exit 0 only when the run succeeded. Prints each task's state."""
    run_conf = parse_conf(conf)
    stack = _stack(project_dir)
    stack_lib = _lib()
    client = _docker()
    url = stack.api_url(client)
    run, tasks = stack_lib.run_dag(url, dag_id, timeout, conf=run_conf)
    for task in tasks:
        typer.echo(f"  {task['task_id']:<30} {task['state']}")
    typer.echo(f"run {run.run_id} of {dag_id}: {run.state}")
    raise typer.Exit(0 if run.state == "success" else 1)
