"""`adp images`: build, tag, lock and push the per-DAG-type runtime images (thin over
adp.images).

Exit codes: 0 everything worked, 1 a build/push/lock failed, 2 bad configuration or usage.
Errors propagate as ``AdpError`` to the one handler of ``adp.cli.errors``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from adp.errors import UsageError
from adp.images import builder, discovery, locking, scaffold
from adp.images.config import ImageConfig, load_config, source_tree

app = typer.Typer(
    name="images",
    help="Build, tag, lock and push the per-DAG-type runtime images of runtime-environments/. "
    "Run it anywhere inside the platform's repository.",
    no_args_is_help=False,
    rich_markup_mode="rich",
)
# Logs and CI are not terminals: give tables room rather than wrapping image tags.
console = Console() if sys.stdout.isatty() else Console(width=120)
err = Console(stderr=True, soft_wrap=True)

RootOpt = Annotated[
    Path | None,
    typer.Option(
        "--root",
        help="Folder holding one sub-folder per runtime type (default: runtime-environments/).",
    ),
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="KEY=value file with registry and repository (default: runtime-environments/"
        "images.env).",
    ),
]
TypesArg = Annotated[
    list[str] | None, typer.Argument(help="Runtime types to act on (default: all discovered).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON instead.")]


def _root(root: Path | None) -> Path:
    """`--root`, else the source tree's runtime-environments/ (exit 2 outside the tree)."""
    if root is not None:
        return root
    return source_tree().runtime_root


def _load(
    root: Path | None, config_file: Path | None, names: list[str] | None = None
) -> tuple[ImageConfig, list[discovery.RuntimeType]]:
    config = load_config(config_file)
    runtimes = discovery.select(discovery.discover(root), names)
    for runtime in runtimes:
        config.tag_for(runtime.name)
    return config, runtimes


def _mb(size: int | None) -> str:
    return "-" if size is None else f"{size / 1e6:,.0f} MB"


@app.callback(invoke_without_command=True)
def welcome(ctx: typer.Context) -> None:
    """Show what is configured and what to do next when called with no command."""
    if ctx.invoked_subcommand is not None:
        return
    config, runtimes = _load(None, None)
    lines = [
        "[bold]Runtime images[/]: one small image per kind of DAG task.",
        f"Config: images.env  registry=[cyan]{config.registry or '(none: local only)'}[/]"
        f"  repo=[cyan]{config.repo}[/]  version=[cyan]{config.version}[/]",
        "Types: " + ", ".join(f"[green]{r.name}[/]" for r in runtimes),
        "",
        "make images           build all types in parallel (adp images build)",
        "make images-push      push them (needs IMAGE_REGISTRY; adp images push)",
        "make new-runtime NAME=x   add a type (adp images new x)",
        "adp images --help     every command",
    ]
    console.print(Panel("\n".join(lines), title="adp images", expand=False))


@app.command("list")
def list_types(
    json_out: JsonOpt = False, root: RootOpt = None, config_file: ConfigOpt = None
) -> None:
    """List the discovered runtime types and the tag each one gets."""
    config, runtimes = _load(root, config_file)
    rows = [{"name": r.name, "tag": config.tag_for(r.name), "path": str(r.path)} for r in runtimes]
    if json_out:
        print(json.dumps(rows, indent=2))
        return
    table = Table("type", "Debian packages")
    table.add_column("tag", no_wrap=True)
    for r in runtimes:
        table.add_row(r.name, " ".join(r.debian_packages()) or "-", config.tag_for(r.name))
    console.print(table)


@app.command("config")
def show_config(
    key: Annotated[str | None, typer.Argument(help="Print only this key's value.")] = None,
    config_file: ConfigOpt = None,
) -> None:
    """Print the effective settings (images.env over facts.env, environment overrides)."""
    config = load_config(config_file)
    values = config.settings()
    if key is None:
        print("\n".join(f"{k}={v}" for k, v in values.items()))
    elif key in values:
        print(values[key])
    else:
        raise UsageError(f"unknown key {key}; known keys: {', '.join(values)}")


@app.command()
def tag(
    runtime_type: Annotated[str, typer.Argument(help="A runtime type, e.g. dbt-runner.")],
    config_file: ConfigOpt = None,
) -> None:
    """Print one type's full image reference (for scripts and DAG code generation)."""
    print(load_config(config_file).tag_for(runtime_type))


def _summary(results: list[builder.BuildResult], config: ImageConfig, verb: str) -> Table:
    table = Table(title=f"{verb}: {config.image_name()} (version {config.version})")
    table.add_column("type", no_wrap=True)
    table.add_column("result", no_wrap=True)
    table.add_column("size", justify="right", no_wrap=True)
    table.add_column("time", justify="right", no_wrap=True)
    table.add_column("tag", no_wrap=True)
    for r in results:
        status = "[green]ok[/]" if r.ok else "[bold red]FAILED[/]"
        table.add_row(r.name, status, _mb(r.size_bytes), f"{r.seconds:.1f} s", r.tag)
    return table


@app.command()
def build(
    types: TypesArg = None,
    jobs: Annotated[
        int, typer.Option("--jobs", "-j", help="Parallel builds (default: number of cores).")
    ] = 0,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Ignore Docker's layer cache.")
    ] = False,
    secret: Annotated[
        list[str] | None,
        typer.Option(
            "--secret",
            help="More BuildKit secrets id=<id>,src=<file>; repeatable. NETRC_FILE=<file> adds "
            "id=netrc and INDEX_PASSWORD_FILE=<file> adds id=index_password (the package "
            "index's credentials) by themselves.",
        ),
    ] = None,
    json_out: JsonOpt = False,
    root: RootOpt = None,
    config_file: ConfigOpt = None,
) -> None:
    """Build every runtime type (or the named ones), in parallel, and summarise.

    A failed type does not stop the others; the summary lists each type's size and build
    time, and the exit code is 1 if any type failed.
    """
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    config, runtimes = _load(root, config_file, types)
    if not runtimes:
        raise UsageError(f"{_root(root)}: no runtime types found (folders with a pyproject.toml)")
    options = builder.BuildOptions(no_cache=no_cache, secrets=list(secret or []))
    docker = builder.docker_client()
    n_jobs = jobs or builder.default_jobs()
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err,
        transient=json_out,
    ) as progress:
        tasks = {r.name: progress.add_task(f"{r.name}: waiting", start=False) for r in runtimes}

        def started(r: discovery.RuntimeType) -> None:
            progress.start_task(tasks[r.name])
            progress.update(tasks[r.name], description=f"{r.name}: building")

        def done(res: builder.BuildResult) -> None:
            word = "[green]built[/]" if res.ok else "[red]failed[/]"
            progress.update(tasks[res.name], description=f"{res.name}: {word}")
            progress.stop_task(tasks[res.name])

        results = builder.build_all(
            runtimes,
            config,
            options,
            jobs=n_jobs,
            docker=docker,
            on_start=started,
            on_done=done,
        )
    if json_out:
        print(json.dumps([r.as_dict() for r in results], indent=2))
    else:
        console.print(_summary(results, config, f"built with {min(n_jobs, len(runtimes))} jobs"))
        for r in results:
            if not r.ok:
                err.print(
                    Panel(
                        Text(r.error or "(no output)", overflow="fold"),
                        title=f"{r.name}: last lines of {r.log}",
                    ),
                    highlight=False,
                )
    if not all(r.ok for r in results):
        raise typer.Exit(1)


@app.command()
def dockerfile(
    runtime_type: Annotated[str, typer.Argument(help="A runtime type, e.g. dbt-runner.")],
    root: RootOpt = None,
) -> None:
    """Print the Dockerfile a type builds from: the shared one with its runtime.dockerfile."""
    (runtime,) = discovery.select(discovery.discover(_root(root)), [runtime_type])
    print(builder.dockerfile_for(runtime), end="")


@app.command()
def push(
    types: TypesArg = None,
    json_out: JsonOpt = False,
    root: RootOpt = None,
    config_file: ConfigOpt = None,
) -> None:
    """Push the built images to IMAGE_REGISTRY (refuses when no registry is configured)."""
    config, runtimes = _load(root, config_file, types)
    if not config.registry:
        raise UsageError(
            "IMAGE_REGISTRY is empty (runtime-environments/images.env): nowhere to push; set "
            "it there or pass IMAGE_REGISTRY=registry.example.com/team"
        )
    results = builder.push_all(runtimes, config)
    if json_out:
        print(json.dumps([r.as_dict() for r in results], indent=2))
    else:
        console.print(_summary(results, config, "pushed"))
        for r in results:
            if not r.ok:
                err.print(Text(f"{r.name}: {r.error}", style="red"))
    if not all(r.ok for r in results):
        raise typer.Exit(1)


@app.command()
def lock(
    types: TypesArg = None,
    upgrade: Annotated[
        bool, typer.Option("--upgrade", help="Take the newest versions pyproject allows.")
    ] = False,
    root: RootOpt = None,
    config_file: ConfigOpt = None,
) -> None:
    """Re-lock pyproject.toml into requirements.lock (uv pip compile, with hashes)."""
    root = _root(root)
    names = types or None
    runtimes = []
    # A type being created has no lock yet: find it without requiring one.
    for name in names or [
        p.name for p in sorted(root.iterdir()) if (p / "pyproject.toml").is_file()
    ]:
        path = root / name
        if not (path / "pyproject.toml").is_file():
            raise discovery.DiscoveryError(f"{path / 'pyproject.toml'}: missing")
        runtimes.append(discovery.RuntimeType(name=name, path=path))
    for runtime in runtimes:
        locking.lock(runtime, upgrade=upgrade)  # LockError: exit 1
        console.print(f"locked {runtime.lock}")


@app.command("new")
def new(
    name: Annotated[str, typer.Argument(help="Name of the new type, e.g. ml-runner.")],
    no_lock: Annotated[bool, typer.Option("--no-lock", help="Do not run uv to lock.")] = False,
    root: RootOpt = None,
) -> None:
    """Create a new runtime type folder (it builds from the shared Dockerfile)."""
    runtime = scaffold.new_runtime(name, _root(root))
    if not no_lock:
        locking.lock(runtime)
    console.print(
        f"created {runtime.path}: add Python dependencies to pyproject.toml and Debian "
        f"packages to packages.txt, then `make lock TYPE={name}` and `make images TYPES={name}`"
    )
