"""`adp dags publish|rollback|list` end to end through typer's runner, on a local folder and
on S3 (moto's server): exit codes 0 ok, 1 findings/conflict/refused, 2 usage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from adp.cli.main import app
from adp_test_helpers.dag_corpus import dag
from adp_test_helpers.release_corpus import good_dags, new_bucket, write_dags
from adp_test_servers.s3 import S3Server
from typer.testing import CliRunner

runner = CliRunner()


def adp(*args: str):
    return runner.invoke(app, ["dags", *args])


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no pyproject.toml of the repository's
    good_dags(tmp_path / "dags")
    return tmp_path


def files_under(folder: Path) -> list[str]:
    return sorted(
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and ".adp-store" not in p.parts
    )


def test_publish_list_rollback_on_a_local_folder(work: Path) -> None:
    bucket = (work / "store").as_uri()
    base = ["--bucket", bucket, "--env", "dev"]
    dry = adp("publish", *base, "--package", "sales", "--path", "dags", "--version", "v0",
              "--dry-run")  # fmt: skip
    assert dry.exit_code == 0, dry.output
    assert "dev/sales/releases/v0/manifest.json" in dry.output
    assert "current.json: absent -> v0" in dry.output and "nothing was written" in dry.output
    assert not (work / "store").exists()
    first = adp("publish", *base, "--package", "sales", "--path", "dags", "--version", "v1",
                "--image-tag", "sales:1", "--publisher", "ci@runner")  # fmt: skip
    assert first.exit_code == 0, first.output
    assert "published dev/sales v1 (4 file(s), 2 DAG(s))" in first.output
    assert "current: none -> v1" in first.output
    assert "dev/sales/releases/v1/files/sales_daily.py" in files_under(work / "store")
    again = adp("publish", *base, "--package", "sales", "--path", "dags", "--version", "v1")
    assert again.exit_code == 1
    assert "already exists" in again.output and "immutable" in again.output
    listed = adp("list", *base, "--json")
    assert listed.exit_code == 0, listed.output
    (entry,) = json.loads(listed.output)["packages"]
    assert entry["current"]["version"] == "v1" and entry["current"]["updated_by"] == "ci@runner"
    assert [(r["version"], r["image_tag"]) for r in entry["releases"]] == [("v1", "sales:1")]
    assert sorted(entry["releases"][0]["dags"]) == ["sales_daily", "sales_weekly"]
    missing = adp("rollback", *base, "--package", "sales", "--to", "v7")
    assert missing.exit_code == 1 and "does not exist" in missing.output
    same = adp("rollback", *base, "--package", "sales", "--to", "v1")
    assert same.exit_code == 0 and "already runs v1" in same.output
    table = adp("list", "--bucket", str(work / "store"), "--env", "dev")  # a plain path
    assert table.exit_code == 0 and "sales" in table.output and "v1" in table.output


def test_publish_and_rollback_on_s3(work: Path, s3_env: S3Server) -> None:
    bucket = new_bucket(s3_env)
    base = ["--bucket", f"s3://{bucket}", "--env", "prod", "--endpoint-url", s3_env.endpoint]
    first = adp("publish", *base, "--package", "sales", "--path", "dags", "--version", "v1")
    assert first.exit_code == 0, first.output
    (work / "dags" / "sales_daily.py").write_text(dag("sales_daily", task="return 2"))
    # AWS_ENDPOINT_URL (set by s3_env) is honoured without --endpoint-url
    second = adp("publish", "--bucket", f"s3://{bucket}", "--env", "prod", "--package", "sales",
                 "--path", "dags", "--version", "v2")  # fmt: skip
    assert second.exit_code == 0, second.output
    back = adp("rollback", *base, "--package", "sales", "--to", "v1")
    assert back.exit_code == 0, back.output
    assert "prod/sales current: v2 -> v1" in back.output
    listed = json.loads(adp("list", *base, "--package", "sales", "--json").output)
    (entry,) = listed["packages"]
    assert [r["version"] for r in entry["releases"]] == ["v1", "v2"]
    assert (entry["current"]["version"], entry["current"]["previous"]) == ("v1", "v2")
    assert "adp-test-secret" not in first.output + second.output + back.output


def test_findings_stop_a_publication_and_are_printed(work: Path) -> None:
    write_dags(work / "bad", {"sales_x.py": dag("sales_x") + "def (:\n"})
    result = adp("publish", "--bucket", str(work / "store"), "--env", "dev", "--package",
                 "sales", "--path", "bad")  # fmt: skip
    assert result.exit_code == 1
    assert "ADP010" in result.output and "nothing was published" in result.output
    assert not (work / "store").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--env", "Prod", "--package", "sales", "--path", "dags"], "environment 'Prod'"),
        (["--env", "dev", "--package", "sales", "--path", "dags", "--version", "../v"],
         "version '../v'"),
        (["--env", "dev", "--package", "Sales", "--path", "dags"], "package 'Sales'"),
    ],
)  # fmt: skip
def test_bad_names_are_usage_errors(work: Path, args: list[str], message: str) -> None:
    result = adp("publish", "--bucket", str(work / "store"), *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not (work / "store").exists()


def test_bad_buckets_are_usage_errors(work: Path) -> None:
    for bucket, message in [
        ("gs://x", "use s3://"),
        ("s3://A_B", "not an S3 bucket name"),
        ("s3://ok-bucket/dev", "not an S3 bucket name"),
    ]:
        result = adp("list", "--bucket", bucket, "--env", "dev")
        assert result.exit_code == 2, (bucket, result.output)
        assert message in result.output
