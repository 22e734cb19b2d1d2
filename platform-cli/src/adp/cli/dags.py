"""`adp dags`: validate DAG files before they reach Airflow (thin over adp.validation), generate
them from a spec (adp.generate) and publish their releases (adp.releases).

Exit codes: 0 nothing at or above --fail-on, 1 findings at or above it, 2 usage or configuration.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from adp.cli import bundles, generate, releases
from adp.operations.validate import (
    RULES,
    PackageImports,
    Severity,
    project_options,
    render,
    summary_line,
    validate_folders,
)

app = typer.Typer(
    name="dags",
    help="Validate and scan DAG files (the rules every publication and promotion applies), "
    "generate them from a spec, and publish, roll back and list their releases.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)
console = Console() if sys.stdout.isatty() else Console(width=120)
err = Console(stderr=True, soft_wrap=True)


def _fail(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    return typer.Exit(2)


@app.command("validate")
def validate_command(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="DAG folders or files (default: dags/ of the current folder)."),
    ] = None,
    package: Annotated[
        str | None, typer.Option("--package", help="Package name: DAG ids start with it and _.")
    ] = None,
    env_manifest: Annotated[
        list[Path] | None,
        typer.Option(
            "--env-manifest",
            help="Published manifest of another package (or a folder of them): DAG ids and file "
            "names must not clash with it. Repeatable.",
        ),
    ] = None,
    output_format: Annotated[
        str, typer.Option("--format", help="text, json or sarif.", case_sensitive=False)
    ] = "text",
    fail_on: Annotated[
        str | None, typer.Option("--fail-on", help="error or warning (default: error).")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the report here, not stdout.")
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="pyproject.toml with \\[tool.adp.dags] (default: the one in the current folder).",
        ),
    ] = None,
    python: Annotated[
        str | None,
        typer.Option("--python", help="Interpreter for the import check (default: this one)."),
    ] = None,
    image: Annotated[
        str | None,
        typer.Option("--image", help="Run the import check in this container image instead."),
    ] = None,
    import_check: Annotated[
        bool | None,
        typer.Option(
            "--import-check/--no-import-check",
            help="Import the DAG files (needed for the naming and convention rules).",
        ),
    ] = None,
    package_imports: Annotated[
        str | None,
        typer.Option(
            "--package-imports",
            help="Where DAG files may import the package: "
            "anywhere, inside-tasks (default) or never.",
        ),
    ] = None,
    baseline: Annotated[
        Path | None, typer.Option("--baseline", help="JSON baseline of accepted findings.")
    ] = None,
    write_baseline_to: Annotated[
        Path | None,
        typer.Option("--write-baseline", help="Record the current findings as accepted, here."),
    ] = None,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why (required with --write-baseline).")
    ] = None,
    jobs: Annotated[int | None, typer.Option("--jobs", "-j", help="Parallel processes.")] = None,
    pass_env: Annotated[
        list[str] | None,
        typer.Option(
            "--pass-env",
            help="Give this variable of your environment to the code imported (it gets only "
            "PATH, the locale and TZ otherwise, and a TMPDIR of its own). Repeatable; replaces "
            "pass_env.",
        ),
    ] = None,
) -> None:
    """Validate DAG files: syntax, import in isolation, naming, top-level work, package
    imports, secrets, dangerous calls, Airflow 3 removals and the platform's conventions.

    Every finding has a rule id (see `adp dags rules`), file:line:column, a message and the fix.
    Suppress one with `# adp: ignore[RULE] reason`, or accept many with a baseline file.
    """
    fmt = output_format.lower()
    if fmt not in {"text", "json", "sarif"}:
        raise _fail(f"--format {output_format!r}: use text, json or sarif")
    if write_baseline_to and not (reason or "").strip():
        raise _fail("--write-baseline needs --reason: why these findings are accepted")
    if python and image:
        raise _fail("--python and --image both choose the import check's target: give one")
    overrides: dict[str, object] = {
        "package": package,
        "fail_on": fail_on,
        "import_check": import_check,
        "package_imports": package_imports,
        "baseline": baseline,
        "jobs": jobs,
        "env_manifests": env_manifest or None,
        "pass_env": pass_env or None,
        "target": {"python": python, "image": image} if python or image else None,
    }
    options = project_options(config, overrides)
    report, written = validate_folders(
        paths or [Path("dags")], options, write_baseline_to, reason or ""
    )
    if write_baseline_to:
        err.print(f"wrote {written} finding(s) to {write_baseline_to}", highlight=False)
        raise typer.Exit(0)
    rendered = render(report, fmt, options.fail_on)
    if output:
        output.write_text(rendered + "\n", encoding="utf-8")
        if fmt != "text":
            typer.echo(summary_line(report, options.fail_on))
    else:
        typer.echo(rendered)
    raise typer.Exit(report.exit_code(options.fail_on))


@app.command("rules")
def rules_command(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable JSON.")] = False,
) -> None:
    """List every rule: id, default severity, tool and what it means."""
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "id": r.id,
                        "name": r.name,
                        "severity": r.severity.value,
                        "tool": r.tool,
                        "summary": r.summary,
                        "fix": r.fix,
                    }
                    for r in RULES.values()
                ],
                indent=2,
            )
        )
        return
    table = Table("rule", "severity", "tool", "what it means")
    for r in RULES.values():
        table.add_row(r.id, r.severity.value, r.tool, r.summary)
    console.print(table)


app.command("generate")(generate.generate_command)
app.command("publish")(releases.publish_command)
app.command("rollback")(releases.rollback_command)
app.command("list")(releases.list_command)
app.command("bundle-config")(bundles.bundle_config_command)

__all__ = ["PackageImports", "Severity", "app"]
