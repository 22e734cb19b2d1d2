"""`adp dags bundle-config`: the Airflow setting that makes an environment's releases one DAG
bundle (thin over adp.operations.bundles).

Exit codes: 0 printed, 2 usage (a bad env, store or option: ``InvalidName``, printed by the one
handler of ``adp.cli.errors``).
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated

import typer

from adp.cli.releases import Bucket, Endpoint, Env
from adp.operations.bundles import SETTING, bundle_entry, config_list


class Format(StrEnum):
    json = "json"
    env = "env"
    entry = "entry"


def bundle_config_command(
    bucket: Bucket,
    env: Env,
    endpoint_url: Endpoint = None,
    name: Annotated[
        str | None, typer.Option("--name", help="The bundle's name (default: adp-<env>).")
    ] = None,
    refresh_interval: Annotated[
        int | None,
        typer.Option(
            "--refresh-interval",
            help="Seconds between the dag-processor's syncs (default: Airflow's "
            "[dag_processor] refresh_interval). A sync with nothing changed costs one "
            "request per package.",
        ),
    ] = None,
    output: Annotated[
        Format,
        typer.Option(
            "--format",
            help="json: the setting's value; env: a line for .env files "
            f"({SETTING}=...); entry: the one entry alone.",
        ),
    ] = Format.json,
    dags_folder: Annotated[
        bool,
        typer.Option(
            "--dags-folder/--no-dags-folder",
            help="Keep Airflow's dags-folder bundle (the image's own dags/) in the list.",
        ),
    ] = True,
) -> None:
    """Print the [bold]dag_bundle_config_list[/] that serves <env>'s releases as one bundle.

    One bundle per environment: a package published later appears in it with no restart and
    no configuration change. The Airflow processes need read access to the store (the
    dag-processor also writes <env>/_snapshots/), through the standard AWS chain.
    """
    entry = bundle_entry(
        env, bucket, name=name, endpoint_url=endpoint_url, refresh_interval=refresh_interval
    )
    if output is Format.entry:
        typer.echo(json.dumps(entry, indent=2))
    elif output is Format.env:
        typer.echo(f"{SETTING}={config_list(entry, dags_folder)}")
    else:
        typer.echo(config_list(entry, dags_folder))
