"""`adp repos` as users run it: add writes the entry (the rest of the file as written) and
syncs; remove takes the namespace out of the environment; a bad entry writes nothing; status
and audit say what happened; bundle-config prints GitDagBundle entries with the restart note."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from adp.cli.main import app
from adp.releases.local_store import LocalStore
from adp.releases.pointer import read_pointer
from adp_test_helpers.repo_support import Upstream, dag_text
from typer.testing import CliRunner

COMMENTED = """\
# our platform's repositories: keep this comment
release_store:
  bucket: {store}
  env: dev   # the environment
repositories:
  # the sales team's DAGs
  - name: sales
    url: {url}
    namespace: sales
    path: dags
"""


def adp(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, ["repos", *args])
    assert result.exit_code == code, result.output
    return result.output


@pytest.fixture
def two(tmp_path: Path) -> tuple[Path, Upstream, Upstream]:
    sales, billing = Upstream(tmp_path, "sales"), Upstream(tmp_path, "billing")
    sales.commit({"dags/sales_daily.py": dag_text("sales_daily")}, "sales")
    billing.commit({"billing_daily.py": dag_text("billing_daily")}, "billing")
    config = tmp_path / "airflow-repos.yaml"
    config.write_text(COMMENTED.format(store=tmp_path / "store", url=sales.url))
    return config, sales, billing


def test_add_keeps_the_file_as_written_and_syncs_remove_retires_the_namespace(two) -> None:
    config, sales, billing = two
    store = LocalStore(Path(str(config.parent / "store")))
    out = adp("add", "billing", "--url", billing.url, "--namespace", "billing",
              "--no-auto-deploy", "--config", str(config))  # fmt: skip
    assert "added billing" in out and "billing: pending" in out, out
    text = config.read_text()
    assert text.startswith(COMMENTED.format(store=config.parent / "store", url=sales.url)), text
    assert "  - name: billing\n" in text and "    auto_deploy: false\n" in text
    out = adp("sync", "--all", "--config", str(config))
    assert "sales: promoted" in out and "billing: pending" in out, out
    listed = json.loads(adp("list", "--json", "--config", str(config)))
    assert [r["name"] for r in listed["repositories"]] == ["sales", "billing"]
    status = json.loads(adp("status", "billing", "--json", "--config", str(config)))
    (row,) = status["repositories"]
    assert row["pending"][0]["sha"] == billing.head() and row["release_current"] is None
    adp("approve", "billing", billing.head(), "--config", str(config))
    assert read_pointer(store, "dev", "billing").version == billing.head()

    out = adp("remove", "billing", "--config", str(config))
    assert "dev/billing" in out and "out of the environment" in out, out
    assert read_pointer(store, "dev", "billing").version is None
    assert any(store.list("dev/billing/releases/"))  # the releases stay, for the record
    assert config.read_text() == COMMENTED.format(store=config.parent / "store", url=sales.url)
    actions = [e["action"] for e in json.loads(adp("audit", "--json", "--config", str(config)))]
    assert actions == ["add", "pending", "promote", "approve", "remove"], actions


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--namespace", "sales"], "'sales' is already used by repositories[0]"),
        (["--namespace", "ops", "--auth-type", "oauth_token"], "needs exactly one of token_env"),
        (["--namespace", "ops", "--sync-interval", "1s"], "must be between 10s"),
    ],
)
def test_a_bad_entry_writes_nothing(two, args: list[str], message: str) -> None:
    config, _, billing = two
    before = config.read_text()
    out = adp("add", "ops", "--url", billing.url, *args, "--config", str(config), code=2)
    assert message in out and "nothing was written" in out, out
    assert config.read_text() == before


def test_bundle_config_prints_git_bundles_on_the_promoted_branch_and_says_restart(two) -> None:
    config, _, _ = two
    result = CliRunner().invoke(
        app, ["repos", "bundle-config", "--mirror-url", "file:///mirrors/{name}.git",
              "--config", str(config)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    (entry,) = json.loads(lines["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"])
    assert entry["classpath"] == "airflow.providers.git.bundles.git.GitDagBundle"
    assert entry["kwargs"] == {"git_conn_id": "adp_git_sales", "tracking_ref": "promoted/main",
                               "refresh_interval": 60, "subdir": "dags"}  # fmt: skip
    conn = json.loads(lines["AIRFLOW_CONN_ADP_GIT_SALES"])
    assert conn == {"conn_type": "git", "host": "file:///mirrors/sales.git"}
    assert "needs a restart of every Airflow process" in result.stderr


def test_a_bad_file_is_refused_with_its_line(tmp_path: Path) -> None:
    config = tmp_path / "airflow-repos.yaml"
    config.write_text("release_store:\n  bucket: x\n  env: dev\n  colour: red\n")
    out = adp("list", "--config", str(config), code=2)
    assert "airflow-repos.yaml:4: release_store.colour: unknown field" in out, out
    assert "no such file" in adp("list", "--config", str(tmp_path / "none.yaml"), code=2)
