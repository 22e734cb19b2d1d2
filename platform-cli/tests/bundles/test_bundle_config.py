"""`adp dags bundle-config`: the setting Airflow reads, in each format; bad input is a usage
error naming the option, and no credential can get into the printed configuration."""

from __future__ import annotations

import json

import pytest
from adp.bundles.config import CLASSPATH, SETTING
from adp.cli.main import app
from typer.testing import CliRunner

runner = CliRunner()


def adp(*args: str):
    return runner.invoke(app, ["dags", "bundle-config", *args])


def test_json_is_the_list_with_the_dags_folder_and_the_environment_bundle() -> None:
    result = adp("--bucket", "s3://acme-dag-releases", "--env", "prod", "--refresh-interval", "10")
    assert result.exit_code == 0, result.output
    dags_folder, entry = json.loads(result.output)
    assert dags_folder["name"] == "dags-folder"
    assert entry == {
        "name": "adp-prod",
        "classpath": CLASSPATH,
        "kwargs": {"env": "prod", "store": "s3://acme-dag-releases", "refresh_interval": 10},
    }


def test_env_format_is_one_unquoted_line_and_entry_is_the_entry_alone() -> None:
    line = adp("--bucket", "/srv/releases", "--env", "dev", "--format", "env").output.strip()
    name, _, value = line.partition("=")
    assert name == SETTING and " " not in value and "#" not in value and "\n" not in line
    assert [b["name"] for b in json.loads(value)] == ["dags-folder", "adp-dev"]
    alone = adp("--bucket", "/srv/releases", "--env", "dev", "--format", "entry", "--name", "x")
    assert json.loads(alone.output)["name"] == "x"
    only = adp("--bucket", "/srv/releases", "--env", "dev", "--no-dags-folder")
    assert [b["name"] for b in json.loads(only.output)] == ["adp-dev"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--bucket", "s3://x", "--env", "Prod"], "environment 'Prod'"),
        (["--bucket", "./releases", "--env", "dev"], "a relative folder"),
        (["--bucket", "releases", "--env", "dev"], "names no S3 bucket and no existing folder"),
        (["--bucket", "s3://UPPER", "--env", "dev"], "not an S3 bucket name"),
        (
            ["--bucket", "s3://acme", "--env", "dev", "--endpoint-url", "http://key:secret@h:9000"],
            "--endpoint-url carries credentials",
        ),
        (
            ["--bucket", "s3://acme", "--env", "dev", "--refresh-interval", "0"],
            "--refresh-interval",
        ),
    ],
)
def test_bad_input_is_a_usage_error_naming_the_option(args: list[str], message: str) -> None:
    result = adp(*args)
    assert result.exit_code == 2
    assert message in result.output
    assert "secret" not in result.output.replace("carries credentials", "")
