"""`adp dags publish|rollback|list`: the release store's commands (thin over adp.releases).

Exit codes: 0 ok, 1 findings, conflict or a refused release, 2 usage (bad names or options).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from adp.bundles.config import default_bundle_name
from adp.bundles.reparse import request_reparse
from adp.dev.api import AirflowClient
from adp.releases import names
from adp.releases.listing import list_releases
from adp.releases.locate import open_store
from adp.releases.names import InvalidName
from adp.releases.pointer import PointerConflict, ReleaseError, read_pointer, rollback
from adp.releases.publish import PublishRequest, ValidationFailed, default_publisher, publish
from adp.releases.store import Store, StoreError
from adp.validation import (
    ConfigError,
    ValidationOptions,
    build_options,
    load_pyproject,
    render,
)

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


def _reparse(airflow_url: str | None, bundle: str | None, env: str) -> None:
    """After a pointer moved: ask Airflow to refresh the bundle; a failure only warns."""
    if not airflow_url:
        return
    name = bundle or default_bundle_name(env)
    with AirflowClient(airflow_url, timeout=10, token=os.environ.get("ADP_AIRFLOW_TOKEN")) as api:
        result = request_reparse(api, name)
    if result.outcome == "failed":
        err.print(
            f"[yellow]warning:[/] could not ask {escape(airflow_url)} to re-parse bundle "
            f"{escape(name)} ({escape(result.detail)}); it shows at the bundle's next refresh",
            highlight=False,
        )
    else:
        typer.echo(f"{result.detail} ({airflow_url})")


def _error(message: str, code: int) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    return typer.Exit(code)


def _store(bucket: str, endpoint_url: str | None) -> Store:
    try:
        return open_store(bucket, endpoint_url or None)
    except InvalidName as error:
        raise _error(str(error), 2) from None


def _options(config: Path | None, package: str) -> ValidationOptions:
    """The validation settings: [tool.adp.dags] of pyproject.toml, this package, import check on
    (it yields the DAG ids the publisher checks)."""
    config_path = config or Path("pyproject.toml")
    if config is not None and not config.is_file():
        raise ConfigError(f"--config {config}: no such file")
    settings = load_pyproject(config_path) if config_path.is_file() else {}
    settings.update({"package": package, "import_check": True})
    return build_options(settings, f"{config_path} and the command line")


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
    store = _store(bucket, endpoint_url)
    request = PublishRequest(env, package, path, version, image_tag, publisher)
    try:
        names.check_env(env)
        names.check_package(package)
        if version is not None:
            names.check_version(version)
        options = _options(config, package)
        plan = publish(store, request, options, dry_run=dry_run)
    except (InvalidName, ConfigError) as error:
        raise _error(str(error), 2) from None
    except ValidationFailed as error:
        if error.findings:
            failing = error.report.model_copy(update={"findings": error.findings})
            typer.echo(render(failing, "text", options.fail_on))
        raise _error(str(error), 1) from None
    except (ReleaseError, StoreError) as error:
        raise _error(str(error), 1) from None
    m = plan.manifest
    if dry_run:
        typer.echo(f"dry run: would write {len(plan.keys)} object(s) to {store.url}:")
        for key in plan.keys:
            typer.echo(f"  {key}")
        was = plan.expected.version or "absent"
        typer.echo(f"  {env}/{package}/current.json: {was} -> {m.version}")
        typer.echo("nothing was written")
        return
    typer.echo(
        f"published {env}/{package} {m.version} ({len(m.files)} file(s), {len(m.dags)} DAG(s)) "
        f"to {store.url}; current: {plan.expected.version or 'none'} -> {m.version}"
    )
    _reparse(airflow_url, bundle, env)


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
    store = _store(bucket, endpoint_url)
    try:
        before = read_pointer(store, env, package).version
        pointer = rollback(store, env, package, to, publisher or default_publisher())
    except InvalidName as error:
        raise _error(str(error), 2) from None
    except (PointerConflict, ReleaseError, StoreError) as error:
        raise _error(str(error), 1) from None
    if before == to:
        typer.echo(f"{env}/{package} already runs {to}: nothing changed")
        return
    typer.echo(f"{env}/{package} current: {pointer.previous or 'none'} -> {pointer.version}")
    _reparse(airflow_url, bundle, env)


def list_command(
    bucket: Bucket,
    env: Env,
    package: Annotated[str | None, typer.Option("--package", help="Only this package.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable JSON.")] = False,
    endpoint_url: Endpoint = None,
) -> None:
    """List each package's releases (oldest first) and its current pointer."""
    store = _store(bucket, endpoint_url)
    try:
        packages = list_releases(store, env, package)
    except InvalidName as error:
        raise _error(str(error), 2) from None
    except (ReleaseError, StoreError) as error:
        raise _error(str(error), 1) from None
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
