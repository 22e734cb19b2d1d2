"""`adp dags publish|rollback|list`: the release store's commands (thin over
adp.operations.releases; errors reported by the one handler of `adp`, adp.cli.errors).

Exit codes: 0 ok, 1 findings, conflict or a refused release, 2 usage (bad names or options).
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

from adp.operations import Caller, Reparse
from adp.operations import releases as ops

console = Console() if sys.stdout.isatty() else Console(width=120)
err = Console(stderr=True, soft_wrap=True)

Bucket = Annotated[
    str,
    typer.Option(
        "--bucket",
        help="The release store: s3://<bucket>, or a local folder as file:///<folder> or a "
        "path with a '/' (./releases; created on first publish). A bare word is refused "
        "unless that folder exists: it is never guessed to be a new folder.",
    ),
]
Env = Annotated[str, typer.Option("--env", help="Environment: dev, prod ... (lowercase).")]
Endpoint = Annotated[
    str | None,
    typer.Option(
        "--endpoint-url",
        help="S3-compatible server (MinIO, moto); default: AWS_ENDPOINT_URL or AWS itself.",
    ),
]


AirflowUrl = Annotated[
    str | None,
    typer.Option(
        "--airflow-url",
        envvar="ADP_AIRFLOW_URL",
        help="A running Airflow to ask to re-parse the environment's bundle at once (its "
        "refresh_interval is the fallback). Token: ADP_AIRFLOW_TOKEN (default: the local "
        "stack's /auth/token).",
    ),
]
BundleName = Annotated[
    str | None,
    typer.Option("--bundle", help="The environment's bundle in Airflow (default: adp-<env>)."),
]


def _reparse(reparse: Reparse | None) -> None:
    """What Airflow said when asked to re-parse; a failure only warns."""
    if reparse is None:
        return
    if reparse.outcome == "failed":
        err.print(
            f"[yellow]warning:[/] could not ask {escape(reparse.airflow_url)} to re-parse bundle "
            f"{escape(reparse.bundle)} ({escape(reparse.detail)}); it shows at the bundle's next "
            "refresh",
            highlight=False,
        )
    else:
        typer.echo(f"{reparse.detail} ({reparse.airflow_url})")


def _error(message: str, code: int) -> typer.Exit:
    """Print ``message`` as an error (for ``adp dags bundle-config``); the exit to raise."""
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    return typer.Exit(code)


def _caller(publisher: str | None, airflow_url: str | None) -> Caller:
    return Caller(actor=publisher, airflow_url=airflow_url)  # token: adp.airflow_access


def publish_command(
    bucket: Bucket,
    env: Env,
    package: Annotated[
        str, typer.Option("--package", help="The package: its DAG ids start with it and _.")
    ],
    path: Annotated[Path, typer.Option("--path", help="The DAG folder to publish.")],
    version: Annotated[
        str | None,
        typer.Option("--version", help="Release version (default: UTC time and content hash)."),
    ] = None,
    image_tag: Annotated[
        str | None, typer.Option("--image-tag", help="Runtime image tag, recorded in the manifest.")
    ] = None,
    publisher: Annotated[
        str | None, typer.Option("--publisher", help="Who publishes (default: user@host).")
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", help="pyproject.toml with \\[tool.adp.dags] (default: ./pyproject.toml)."
        ),
    ] = None,
    endpoint_url: Endpoint = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Validate and show what would be written; write nothing."),
    ] = False,
    airflow_url: AirflowUrl = None,
    bundle: BundleName = None,
) -> None:
    """Validate a DAG folder, write it as an immutable release and point the environment at it.

    Writes [bold]<env>/<package>/releases/<version>/[/] (each object only if its key is free,
    manifest.json last), then moves [bold]<env>/<package>/current.json[/] with a conditional
    write. A concurrent publisher that moved the pointer first makes this one fail with a
    conflict (exit 1) instead of losing its update. Findings at error level, DAG ids not
    starting with <package>_ and an existing version are refused (exit 1), writing nothing.
    """
    try:
        done = ops.publish_release(
            bucket, env, package, path, version, image_tag, config, endpoint_url, dry_run,
            _caller(publisher, airflow_url), bundle,
        )  # fmt: skip
    except ops.PublishRefused as error:
        if error.findings_text:
            typer.echo(error.findings_text)
        raise
    if dry_run:
        typer.echo(f"dry run: would write {len(done.keys)} object(s) to {done.store}:")
        for key in done.keys:
            typer.echo(f"  {key}")
        typer.echo(f"  {env}/{package}/current.json: {done.previous or 'absent'} -> {done.version}")
        typer.echo("nothing was written")
        return
    typer.echo(
        f"published {env}/{package} {done.version} ({done.files} file(s), {done.dags} DAG(s)) "
        f"to {done.store}; current: {done.previous or 'none'} -> {done.version}"
    )
    _reparse(done.reparse)


def rollback_command(
    bucket: Bucket,
    env: Env,
    package: Annotated[str, typer.Option("--package", help="The package.")],
    to: Annotated[str, typer.Option("--to", help="The existing release version to point at.")],
    publisher: Annotated[
        str | None, typer.Option("--publisher", help="Who rolls back (default: user@host).")
    ] = None,
    endpoint_url: Endpoint = None,
    airflow_url: AirflowUrl = None,
    bundle: BundleName = None,
) -> None:
    """Point <env>/<package>/current.json back at an existing release (conditional write).

    Refuses a version that does not exist or whose manifest cannot be read (exit 1).
    """
    moved = ops.rollback_release(
        bucket, env, package, to, endpoint_url, _caller(publisher, airflow_url), bundle
    )
    if not moved.changed:
        typer.echo(f"{env}/{package} already runs {to}: nothing changed")
        return
    typer.echo(f"{env}/{package} current: {moved.previous or 'none'} -> {moved.version}")
    _reparse(moved.reparse)


def list_command(
    bucket: Bucket,
    env: Env,
    package: Annotated[str | None, typer.Option("--package", help="Only this package.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable JSON.")] = False,
    endpoint_url: Endpoint = None,
) -> None:
    """List each package's releases (oldest first) and its current pointer."""
    store, packages = ops.releases(bucket, env, package, endpoint_url)
    if as_json:
        data = [
            {
                "package": p.package,
                "current": p.current.model_dump(mode="json") if p.current else None,
                "problem": p.problem,
                "releases": [
                    {
                        "version": r.version,
                        "created_at": r.manifest.created_at.isoformat() if r.manifest else None,
                        "publisher": r.manifest.publisher if r.manifest else None,
                        "files": len(r.manifest.files) if r.manifest else None,
                        "dags": [d.dag_id for d in r.manifest.dags] if r.manifest else None,
                        "git_sha": r.manifest.git_sha if r.manifest else None,
                        "image_tag": r.manifest.image_tag if r.manifest else None,
                        "problem": r.problem,
                    }
                    for r in p.releases
                ],
            }
            for p in packages
        ]
        typer.echo(json.dumps({"env": env, "store": store.url, "packages": data}, indent=2))
        return
    table = Table("package", "version", "current", "created (UTC)", "by", "files", "DAGs")
    for p in packages:
        current = p.current.version if p.current else None
        if not p.releases:
            table.add_row(p.package, "-", escape(p.problem or ""), "", "", "", "")
        for r in p.releases:
            m = r.manifest
            table.add_row(
                p.package,
                escape(r.version),
                "yes" if r.version == current else "",
                f"{m.created_at:%Y-%m-%d %H:%M:%S}" if m else escape(r.problem or ""),
                escape(m.publisher) if m else "",
                str(len(m.files)) if m else "",
                str(len(m.dags)) if m else "",
            )
    console.print(table)
    if not packages:
        typer.echo(f"no releases of {env} in {store.url}")


__all__ = ["list_command", "publish_command", "rollback_command"]
