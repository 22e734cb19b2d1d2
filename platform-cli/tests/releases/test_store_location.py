"""Which store a ``--bucket`` names is never a guess: ``s3://<bucket>``, or a local folder named
unmistakably (``file:///...``, a path holding a ``/``, or a folder that exists). A bare word
such as ``acme-dag-releases`` (an S3 bucket without its ``s3://``) is refused, with the two
spellings that would work, and nothing is created: a CI job must never believe it shipped to
S3 while it wrote a folder of its working directory."""

from __future__ import annotations

import os
import string
from pathlib import Path

import pytest
from adp.bundles.platform_bundle import BundleConfigError, PlatformDagBundle
from adp.cli.main import app
from adp.releases.local_store import LocalStore
from adp.releases.locate import open_store
from adp.releases.names import InvalidName
from adp_test_helpers.release_corpus import good_dags
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

runner = CliRunner()
AWS = {
    "AWS_ACCESS_KEY_ID": "AKIAEXAMPLEEXAMPLE12",
    "AWS_SECRET_ACCESS_KEY": "not-a-real-secret-key",
    "AWS_DEFAULT_REGION": "eu-west-1",
}


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name, value in AWS.items():
        monkeypatch.setenv(name, value)
    good_dags(tmp_path / "dags")
    return tmp_path


def entries(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def test_the_issues_case_a_bare_bucket_name_is_refused_and_creates_nothing(work: Path) -> None:
    before = entries(work)
    result = runner.invoke(
        app,
        ["dags", "publish", "--bucket", "acme-dag-releases", "--env", "prod",
         "--package", "sales", "--path", "dags"],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "s3://acme-dag-releases" in result.output
    assert "./acme-dag-releases" in result.output
    assert entries(work) == before  # no ./acme-dag-releases/
    assert AWS["AWS_SECRET_ACCESS_KEY"] not in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["dags", "publish", "--env", "prod", "--package", "sales", "--path", "dags"],
        ["dags", "publish", "--env", "prod", "--package", "sales", "--path", "dags", "--dry-run"],
        ["dags", "rollback", "--env", "prod", "--package", "sales", "--to", "v1"],
        ["dags", "list", "--env", "prod"],
        ["dags", "bundle-config", "--env", "prod"],
    ],
)
def test_every_command_taking_a_bucket_refuses_a_bare_word(work: Path, args: list[str]) -> None:
    before = entries(work)
    result = runner.invoke(app, [*args, "--bucket", "acme-dag-releases"])
    assert result.exit_code == 2, result.output
    assert "s3://acme-dag-releases" in result.output, result.output
    assert entries(work) == before


def test_the_spellings_the_message_offers_work(work: Path) -> None:
    local = runner.invoke(
        app,
        ["dags", "publish", "--bucket", "./acme-dag-releases", "--env", "prod",
         "--package", "sales", "--path", "dags", "--version", "v1"],
    )  # fmt: skip
    assert local.exit_code == 0, local.output
    assert (work / "acme-dag-releases" / "prod" / "sales" / "current.json").is_file()
    # the folder exists now: the bare word names it unmistakably
    listed = runner.invoke(app, ["dags", "list", "--bucket", "acme-dag-releases", "--env", "prod"])
    assert listed.exit_code == 0 and "v1" in listed.output, listed.output


def test_the_platform_bundle_refuses_a_bare_store_word_at_start(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH", str(work / "bundles"))
    with pytest.raises(BundleConfigError, match=r"s3://acme-dag-releases"):
        PlatformDagBundle(name="adp-prod", env="prod", store="acme-dag-releases")
    assert not (work / "acme-dag-releases").exists()


WORDS = st.text(string.ascii_letters + string.digits + "._-", min_size=1, max_size=40).filter(
    lambda w: w not in (".", "..")
)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(word=WORDS)
def test_a_bare_word_that_is_no_folder_is_always_refused_and_never_created(
    tmp_path: Path, word: str
) -> None:
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        with pytest.raises(InvalidName) as refused:
            open_store(word)
        assert f"./{word}" in str(refused.value)
        assert not (tmp_path / word).exists()
    finally:
        os.chdir(cwd)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    parts=st.lists(WORDS, min_size=1, max_size=3),
    spelling=st.sampled_from(["./{}", "{}/", "{abs}", "file://{abs}", "{exists}"]),
)
def test_a_local_folder_named_unmistakably_opens_that_folder(
    tmp_path: Path, parts: list[str], spelling: str
) -> None:
    relative = "/".join(parts)
    folder = tmp_path / relative
    if spelling == "{exists}":
        folder = tmp_path / parts[0]
        folder.mkdir(exist_ok=True)
        bucket = parts[0]
    else:
        bucket = spelling.format(relative, abs=folder)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        opened = open_store(bucket)
    finally:
        os.chdir(cwd)
    assert isinstance(opened, LocalStore)
    assert opened.root == folder.absolute()


@pytest.mark.parametrize(
    ("bucket", "message"),
    [
        ("s3:/acme-dag-releases", "s3://acme-dag-releases"),  # a typo of the S3 URL
        ("s3:acme-dag-releases", "s3://acme-dag-releases"),
        ("S3://acme-dag-releases", "use s3://"),
        ("~/releases", "~ is not expanded"),
        ("file://", "file:///"),
        ("file://host/releases", "file:///path"),
    ],
)
def test_near_misses_of_a_url_are_refused_not_made_folders(
    work: Path, bucket: str, message: str
) -> None:
    before = entries(work)
    with pytest.raises(InvalidName) as refused:
        open_store(bucket)
    assert message in str(refused.value)
    assert entries(work) == before
