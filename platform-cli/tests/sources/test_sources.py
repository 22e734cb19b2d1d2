"""adp.sources, the read model of every DAG source (the CLI's status, the MCP server, the UI):
packages of a real local release store and repositories of airflow-repos.yaml with the
promoter's state, read without changing anything; a store that cannot be read is a note."""

from __future__ import annotations

from pathlib import Path

import pytest
from adp.releases.local_store import LocalStore
from adp.releases.pointer import rollback
from adp.releases.publish import PublishRequest, publish_validated
from adp.repos.config import load_config
from adp.repos.state import CommitNote, FindingNote, RepoState, StateDir, now
from adp.sources import UnknownSource, list_sources, source_status
from adp.validation import DagInfo, Report
from adp_test_helpers.repo_support import dag_text, write_config


def publish(store: LocalStore, root: Path, package: str, version: str) -> None:
    folder = root / f"{package}-{version}"
    folder.mkdir()
    (folder / f"{package}_daily.py").write_text(dag_text(f"{package}_daily", version))
    report = Report(
        package=package,
        roots=[str(folder.resolve())],
        files=[f"{package}_daily.py"],
        dags=[DagInfo(dag_id=f"{package}_daily", path=f"{package}_daily.py")],
    )
    request = PublishRequest("dev", package, folder, version, publisher="ci", git_sha="b" * 40)
    publish_validated(store, request, report)


def test_packages_and_repositories_are_read_as_typed_sources(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    for version in ("v1", "v2"):
        publish(store, tmp_path, "billing", version)
    rollback(store, "dev", "billing", "v1", "ops@host")
    publish(store, tmp_path, "sales", "c" * 40)  # the repository's namespace: not a package
    entry = {"name": "sales-dags", "url": "https://git.example.com/sales.git",
             "namespace": "sales", "auth_type": "oauth_token", "token_env": "SALES_TOKEN",
             "webhook": {"provider": "github", "secret_env": "SALES_HOOK"}}  # fmt: skip
    config = load_config(write_config(tmp_path / "airflow-repos.yaml", tmp_path / "store", [entry]))
    finding = FindingNote(rule="ADP100", severity="error", location="sales_x.py:7:5", message="m")
    note = CommitNote(sha="d" * 40, reason="validation failed", findings=[finding])
    state = RepoState(
        name="sales-dags", promoted="c" * 40, upstream="d" * 40, refused=[note],
        last_sync_at=now(), last_outcome="refused", last_error="validation failed",
    )  # fmt: skip
    StateDir(config.state_dir).save(state)

    report = list_sources(config, store)
    assert (report.env, report.notes) == ("dev", [])
    (package,) = report.packages
    assert (package.name, package.current_version, package.release_count) == ("billing", "v1", 2)
    assert (package.pointer_action, package.pointer_updated_by) == ("rollback", "ops@host")
    assert (package.published_by, package.git_sha, package.dag_ids) == (
        "ci", "b" * 40, ["billing_daily"],
    )  # fmt: skip
    (repo,) = report.repositories
    assert (repo.name, repo.promoted, repo.release_current) == ("sales-dags", "c" * 40, "c" * 40)
    assert repo.credential_from == "environment variable SALES_TOKEN"
    assert repo.webhook is not None and repo.webhook.receiver_path == "/hooks/sales-dags"
    (found,) = repo.findings  # the refused upstream commit's
    assert (found.rule, found.file, found.line, found.column) == ("ADP100", "sales_x.py", 7, 5)
    assert found.fix and repo.last_sync_age.endswith("s ago")

    detailed = source_status("sales", config, store)  # a repository by its namespace
    assert detailed.kind == "git" and detailed.name == "sales-dags"
    billing = source_status("billing", config, store)
    assert billing.kind == "package" and [r.version for r in billing.releases] == ["v1", "v2"]
    with pytest.raises(UnknownSource, match=r"repositories: sales-dags; packages: billing"):
        source_status("nope", config, store)


def test_a_store_that_cannot_be_read_is_a_note_and_the_state_still_shows(tmp_path: Path) -> None:
    (tmp_path / "store").write_text("not a folder")
    entry = {"name": "ops", "url": "https://git.example.com/ops.git", "namespace": "ops"}
    config = load_config(write_config(tmp_path / "airflow-repos.yaml", tmp_path / "store", [entry]))
    report = list_sources(config)
    assert report.notes and report.notes[0].startswith("release store ")
    (repo,) = report.repositories
    assert repo.name == "ops" and repo.problem == report.notes[0]
    assert repo.last_sync_age == "never" and repo.release_current is None
