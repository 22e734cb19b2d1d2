"""Every relative path written in ``airflow-repos.yaml`` is relative to the file's folder, never
to the working directory of the process that reads it: ``adp repos serve`` (or sync, or the UI,
or the MCP server) started anywhere publishes into the store, keeps the state and reads the
secrets the file describes. ``adp repos status`` shows the store and state folder it uses."""

from __future__ import annotations

import json
import os
import string
import tempfile
from pathlib import Path

import pytest
import yaml
from adp.cli.main import app
from adp.repos.config import ReposConfigError, load_config
from adp.repos.git import read_secret
from adp.repos.promote import Promoter
from adp_test_helpers.repo_support import Upstream, dag_text
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner


def write(path: Path, data: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture
def layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path, Upstream]:
    """``conf/airflow-repos.yaml`` with relative paths, and the process in ``elsewhere/``."""
    upstream = Upstream(tmp_path)
    upstream.commit({"dags/sales_daily.py": dag_text("sales_daily")}, "first")
    config = write(
        tmp_path / "conf" / "airflow-repos.yaml",
        {
            "release_store": {"bucket": "./store", "env": "dev"},
            "state_dir": "state",
            "repositories": [
                {"name": "workflows", "url": upstream.url, "namespace": "sales", "path": "dags"}
            ],
        },
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    return config, elsewhere, upstream


def test_the_issues_case_a_promoter_started_elsewhere_publishes_where_the_file_says(
    layout: tuple[Path, Path, Upstream],
) -> None:
    config, elsewhere, upstream = layout
    promoter = Promoter(load_config(config), actor="tester")
    assert promoter.store.url == (config.parent / "store").as_uri()
    assert promoter.sync("workflows").outcome == "promoted"
    current = config.parent / "store" / "dev" / "sales" / "current.json"
    assert json.loads(current.read_text())["version"] == upstream.head()
    assert (config.parent / "state").is_dir()
    assert list(elsewhere.iterdir()) == []  # nothing in the working directory


def test_status_shows_the_store_and_the_state_folder_it_uses(
    layout: tuple[Path, Path, Upstream],
) -> None:
    config, _, _ = layout
    runner = CliRunner()
    text = runner.invoke(app, ["repos", "status", "--config", str(config)])
    assert text.exit_code == 0, text.output
    assert f"release store: {(config.parent / 'store').as_uri()} (env dev)" in text.output
    assert f"state:         {config.parent / 'state'}" in text.output
    data = json.loads(
        runner.invoke(app, ["repos", "status", "--json", "--config", str(config)]).output
    )
    assert data["release_store"] == {
        "url": (config.parent / "store").as_uri(),
        "bucket": str(config.parent / "store"),
        "endpoint_url": None,
        "env": "dev",
    }
    assert data["state_dir"] == str(config.parent / "state")


def test_a_bare_word_as_bucket_is_refused_at_its_line(tmp_path: Path) -> None:
    config = write(
        tmp_path / "airflow-repos.yaml",
        {"release_store": {"bucket": "acme-dag-releases", "env": "dev"}, "repositories": []},
    )
    with pytest.raises(ReposConfigError) as refused:
        load_config(config)
    (problem,) = refused.value.problems
    assert problem.startswith(f"{config}:2: release_store.bucket: 'acme-dag-releases'"), problem
    assert "s3://acme-dag-releases" in problem and "./acme-dag-releases" in problem
    # a folder of that name beside the file is unmistakable, and it is that folder
    (tmp_path / "acme-dag-releases").mkdir()
    os.chdir("/")
    try:
        loaded = load_config(config)
    finally:
        os.chdir(tmp_path)
    assert loaded.model.release_store.bucket == str(tmp_path / "acme-dag-releases")


@pytest.mark.parametrize(
    "url",
    [
        "file://srv/repos/sales.git",  # git ignores 'srv' and reads /repos/sales.git
        "file:repos/sales.git",  # git takes it for an SSH host named 'file'
        "file://./repos/sales.git",
    ],
)
def test_a_file_url_is_an_absolute_path_never_a_host_or_a_relative_one(
    tmp_path: Path, url: str
) -> None:
    config = write(
        tmp_path / "airflow-repos.yaml",
        {
            "release_store": {"bucket": "s3://dags", "env": "dev"},
            "repositories": [{"name": "sales", "url": url, "namespace": "sales"}],
        },
    )
    with pytest.raises(ReposConfigError) as refused:
        load_config(config)
    (problem,) = refused.value.problems
    assert f"{config}:6: repositories[0].url:" in problem and "file:///" in problem, problem


SEGMENTS = st.text(string.ascii_lowercase + string.digits + "_-", min_size=1, max_size=10)
RELATIVE = st.tuples(
    st.sampled_from(["", "./", "../"]), st.lists(SEGMENTS, min_size=1, max_size=3)
).map(lambda t: t[0] + "/".join(t[1]))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(spellings=st.lists(RELATIVE, min_size=7, max_size=7), cwd_pick=st.sampled_from([0, 1]))
def test_every_relative_path_of_the_file_is_relative_to_its_folder(
    tmp_path: Path, spellings: list[str], cwd_pick: int
) -> None:
    bucket, state, token, secret, python, key, known = spellings
    bucket = bucket if "/" in bucket else f"./{bucket}"
    python = python if "/" in python else f"bin/{python}"
    root = Path(tempfile.mkdtemp(dir=tmp_path))  # one per example
    folder = root / "a" / "conf"
    config = write(
        folder / "airflow-repos.yaml",
        {
            "release_store": {"bucket": bucket, "env": "dev"},
            "state_dir": state,
            "repositories": [
                {"name": "one", "url": "https://git.example.com/one.git", "namespace": "one",
                 "auth_type": "oauth_token", "token_file": token,
                 "validation": {"python": python},
                 "webhook": {"provider": "github", "secret_file": secret}},
                {"name": "two", "url": "ssh://git@git.example.com/two.git", "namespace": "two",
                 "auth_type": "ssh_key", "ssh_key_file": key, "known_hosts_file": known},
            ],
        },
    )  # fmt: skip
    cwd = os.getcwd()
    os.chdir([root, root / "a"][cwd_pick])
    try:
        loaded = load_config(config)
        one, two = loaded.repositories
        # what a caller reads from the loaded file is anchored at the file's folder
        anchored = {
            "bucket": Path(loaded.model.release_store.bucket),
            "state_dir": loaded.state_dir,
            "model.state_dir": Path(loaded.model.state_dir),
            "token_file": one.token_file,
            "secret_file": one.webhook.secret_file if one.webhook else None,
            "python": Path(one.validation.python or ""),
            "ssh_key_file": two.ssh_key_file,
            "known_hosts_file": two.known_hosts_file,
        }
        written = [bucket, state, state, token, secret, python, key, known]
        for (field, value), spelling in zip(anchored.items(), written, strict=True):
            assert value == folder / spelling, field
        # and so is what is used: the store opened, a secret read
        assert Promoter(loaded, actor="t").store.url == (folder / bucket).absolute().as_uri()
        (folder / token).parent.mkdir(parents=True, exist_ok=True)
        (folder / token).write_text("s3cr3t\n")
        assert read_secret(loaded, None, one.token_file, "token") == "s3cr3t"
    finally:
        os.chdir(cwd)


def test_adp_repos_add_writes_paths_that_mean_what_the_caller_meant(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`adp repos add --config conf/airflow-repos.yaml` run from another folder with relative
    --bucket and --webhook-secret-file: the file names the same store and token as the command line
    did (before, it wrote them as given, and readers took them relative to conf/)."""
    upstream = Upstream(tmp_path)
    upstream.commit({"dags/sales_daily.py": dag_text("sales_daily")}, "first")
    work = tmp_path / "work"
    (work / "secrets").mkdir(parents=True)
    (work / "secrets" / "token").write_text("t0ken\n")
    monkeypatch.chdir(work)
    config = tmp_path / "conf" / "airflow-repos.yaml"
    config.parent.mkdir()
    result = CliRunner().invoke(
        app,
        ["repos", "add", "workflows", "--config", str(config), "--url", upstream.url,
         "--namespace", "sales", "--path", "dags", "--webhook-provider", "github",
         "--webhook-secret-file", "secrets/token", "--bucket", "./store", "--env", "dev",
         "--no-sync"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    loaded = load_config(config)
    assert loaded.model.release_store.bucket == str(work / "store")
    assert loaded.model.repositories[0].webhook.secret_file == work / "secrets" / "token"
    # a path under the file's folder is written relative to it (the folder can move)
    inside = tmp_path / "conf" / "keys"
    inside.mkdir()
    (inside / "other").write_text("x\n")
    monkeypatch.chdir(inside)
    result = CliRunner().invoke(
        app,
        ["repos", "add", "second", "--config", str(config), "--url", upstream.url,
         "--namespace", "second", "--webhook-provider", "github",
         "--webhook-secret-file", "other", "--no-sync"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "secret_file: keys/other" in config.read_text()
    # a bare word given as --bucket stays refused (never turned into a folder path)
    fresh = tmp_path / "fresh" / "airflow-repos.yaml"
    result = CliRunner().invoke(
        app,
        ["repos", "add", "third", "--config", str(fresh), "--url", upstream.url,
         "--namespace", "third", "--bucket", "acme-dag-releases", "--env", "dev", "--no-sync"],
    )  # fmt: skip
    assert result.exit_code == 2 and not fresh.exists(), result.output
