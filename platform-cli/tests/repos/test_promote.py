"""Validate-then-promote over a real git repository (file://) and a real release store: a commit
reaches the store only once it passed; whatever fails leaves the promoted commit, and what
Airflow runs, as it was; every move, refusal and approval is in the audit."""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from adp.errors import NextStep
from adp.releases.local_store import LocalStore
from adp.releases.pointer import read_manifest, read_pointer
from adp.releases.s3_store import S3Store
from adp.releases.store import Store
from adp.repos.config import load_config
from adp.repos.promote import Promoter, PromotionError
from adp.validation import ImportStandby
from adp_test_helpers.repo_support import (
    FAKE_TOKEN,
    Upstream,
    dag_text,
    files_holding,
    write_config,
)

ENV, NS = "dev", "sales"


@dataclass
class Setup:
    upstream: Upstream
    config: Path
    store: Store
    root: Path
    standby: ImportStandby | None = None

    def promoter(self, **entry: object) -> Promoter:
        if entry:
            self.write(**entry)
        return Promoter(
            load_config(self.config), actor="tester", store=self.store, standby=self.standby
        )

    def write(self, **entry: object) -> None:
        repo = {
            "name": "workflows",
            "url": self.upstream.url,
            "namespace": NS,
            "path": "dags",
            "sync_interval": "30s",
            **entry,
        }
        write_config(self.config, self.root / "store", [repo], env=ENV)

    def current(self) -> str | None:
        return read_pointer(self.store, ENV, NS).version


@pytest.fixture(params=["local"])
def setup(request: pytest.FixtureRequest, tmp_path: Path, import_standby: ImportStandby) -> Setup:
    store: Store = LocalStore(tmp_path / "store")
    if request.param == "s3":
        server = request.getfixturevalue("s3_env")
        bucket = f"repos-{uuid.uuid4().hex[:8]}"
        server.create_bucket(bucket)
        store = S3Store(bucket, server.endpoint)
    made = Setup(
        Upstream(tmp_path), tmp_path / "airflow-repos.yaml", store, tmp_path, import_standby
    )
    made.write()
    return made


@pytest.mark.parametrize("setup", ["local", "s3"], indirect=True)
def test_a_passing_commit_is_promoted_and_published_as_a_release_of_its_namespace(
    setup: Setup,
) -> None:
    sha = setup.upstream.commit({"dags/sales_daily.py": dag_text("sales_daily")}, "first")
    promoter = setup.promoter()
    result = promoter.sync("workflows")
    assert (result.outcome, result.commit, result.promoted) == ("promoted", sha, sha), result
    assert setup.current() == sha
    manifest, _ = read_manifest(setup.store, ENV, NS, sha)
    assert manifest.git_sha == sha and manifest.publisher == "tester"
    assert [f.path for f in manifest.files] == ["sales_daily.py"]  # path: dags is the root
    assert [d.dag_id for d in manifest.dags] == ["sales_daily"]
    assert promoter.mirror(load_config(setup.config).repository("workflows")).promoted() == sha
    again = promoter.sync("workflows")
    assert (again.outcome, again.promoted) == ("unchanged", sha)
    actions = [(e["action"], e["commit"], e["actor"]) for e in promoter.state.audit_entries()]
    assert actions == [("promote", sha, "tester")]


def test_a_commit_with_a_hardcoded_secret_is_refused_and_the_last_good_commit_stays(
    setup: Setup,
) -> None:
    good = setup.upstream.commit({"dags/sales_daily.py": dag_text("sales_daily")}, "good")
    promoter = setup.promoter()
    assert promoter.sync("workflows").outcome == "promoted"
    leaked = dag_text("sales_daily", "v2", extra=f'\nAPI_TOKEN = "{FAKE_TOKEN}"\n')
    bad = setup.upstream.commit({"dags/sales_daily.py": leaked}, "oops")
    result = promoter.sync("workflows")
    assert (result.outcome, result.commit, result.promoted) == ("refused", bad, good)
    rules = {(f.rule, f.location.split(":")[0]) for f in result.findings}
    assert ("GitHubTokenDetector", "sales_daily.py") in rules, result.findings
    assert setup.current() == good  # Airflow keeps running the last good commit
    state = promoter.state.load("workflows")
    assert state.promoted == good and state.last_outcome == "refused"
    assert [n.sha for n in state.refused] == [bad] and state.refused[0].findings
    # the refusal is recorded, and the secret's value is in no file the promoter wrote
    assert [e["action"] for e in promoter.state.audit_entries()] == ["promote", "refuse"]
    written = [p for p in files_holding(setup.root, FAKE_TOKEN) if "mirrors" not in p.parts]
    assert [p.relative_to(setup.root).parts[0] for p in written] == ["workflows-work"]
    with pytest.raises(PromotionError, match=r"failed validation .* cannot be approved"):
        promoter.approve("workflows", bad)
    # a second sync does not validate the refused commit again; a fix is promoted
    assert promoter.sync("workflows").outcome == "refused"
    fixed = setup.upstream.commit({"dags/sales_daily.py": dag_text("sales_daily", "v3")}, "fix")
    assert promoter.sync("workflows").outcome == "promoted" and setup.current() == fixed


def test_dag_ids_outside_the_namespace_are_refused(setup: Setup) -> None:
    setup.upstream.commit({"dags/billing.py": dag_text("billing_daily")}, "not ours")
    result = setup.promoter().sync("workflows")
    assert result.outcome == "refused", result
    assert any("billing_daily" in f.message for f in result.findings), result.findings
    assert setup.current() is None


def test_a_force_push_rewriting_promoted_history_waits_for_approval(setup: Setup) -> None:
    up = setup.upstream
    first = up.commit({"dags/sales_daily.py": dag_text("sales_daily", "v1")}, "one")
    promoter = setup.promoter()
    promoter.sync("workflows")
    second = up.commit({"dags/sales_daily.py": dag_text("sales_daily", "v2")}, "two")
    assert promoter.sync("workflows").promoted == second
    up.reset(first)
    rewritten = up.commit(
        {"dags/sales_daily.py": dag_text("sales_daily", "v3")}, "three", push=False
    )
    up.push(force=True)
    result = promoter.sync("workflows")
    assert (result.outcome, result.promoted) == ("rewritten", second), result
    assert "history rewritten" in result.detail and setup.current() == second
    approved = promoter.approve("workflows", rewritten)
    assert (approved.outcome, approved.promoted) == ("approved", rewritten)
    assert setup.current() == rewritten
    assert promoter.sync("workflows").outcome == "unchanged"


def test_with_auto_deploy_off_a_passing_commit_waits_for_approval(setup: Setup) -> None:
    sha = setup.upstream.commit({"dags/sales_daily.py": dag_text("sales_daily")}, "first")
    promoter = setup.promoter(auto_deploy=False)
    result = promoter.sync("workflows")
    assert (result.outcome, result.promoted) == ("pending", None), result
    assert result.next_step == NextStep(action="approve", repository="workflows", commit=sha)
    assert "adp repos" not in result.detail  # the next step is data, each front end words it
    assert setup.current() is None  # nothing published yet
    assert promoter.sync("workflows").outcome == "pending"  # still waiting, not validated again
    with pytest.raises(PromotionError, match="not waiting for approval"):
        promoter.approve("workflows", "0" * 40)
    approved = promoter.approve("workflows", sha)
    assert (approved.outcome, approved.promoted) == ("approved", sha)
    assert setup.current() == sha and not promoter.state.load("workflows").pending
    actions = [(e["action"], e["commit"]) for e in promoter.state.audit_entries()]
    assert actions == [("pending", sha), ("approve", sha)]


def test_rollback_points_back_and_holds_until_a_new_commit_arrives(setup: Setup) -> None:
    up = setup.upstream
    first = up.commit({"dags/sales_daily.py": dag_text("sales_daily", "v1")}, "one")
    promoter = setup.promoter()
    promoter.sync("workflows")
    second = up.commit({"dags/sales_daily.py": dag_text("sales_daily", "v2")}, "two")
    promoter.sync("workflows")
    with pytest.raises(PromotionError, match="was never promoted"):
        promoter.rollback("workflows", up.commit({"README.md": "x"}, "docs", push=False))
    back = promoter.rollback("workflows", first)
    assert (back.outcome, back.promoted) == ("rolled-back", first)
    assert setup.current() == first
    held = promoter.sync("workflows")
    assert (held.outcome, held.promoted) == ("unchanged", first) and "rolled back" in held.detail
    up.push()
    third = up.head()
    assert third != second
    assert promoter.sync("workflows").promoted == third  # a new commit moves on again
    assert [e["action"] for e in promoter.state.audit_entries()] == [
        "promote",
        "promote",
        "rollback",
        "promote",
    ]


def test_an_unreachable_repository_keeps_the_promoted_commit(setup: Setup) -> None:
    sha = setup.upstream.commit({"dags/sales_daily.py": dag_text("sales_daily")}, "first")
    promoter = setup.promoter()
    promoter.sync("workflows")
    hidden = setup.root / "hidden.git"
    shutil.move(setup.upstream.bare, hidden)
    result = promoter.sync("workflows")
    assert (result.outcome, result.promoted) == ("unreachable", sha), result
    assert f"{sha[:12]} stays promoted" in result.detail
    assert promoter.state.load("workflows").last_error == result.detail
    assert setup.current() == sha
    shutil.move(hidden, setup.upstream.bare)
    assert promoter.sync("workflows").outcome == "unchanged"
    assert promoter.state.load("workflows").last_error is None


def test_the_commit_a_rollback_holds_can_be_approved_and_an_older_one_cannot(
    setup: Setup,
) -> None:
    up = setup.upstream
    first = up.commit({"dags/sales_daily.py": dag_text("sales_daily", "v1")}, "one")
    promoter = setup.promoter()
    promoter.sync("workflows")
    second = up.commit({"dags/sales_daily.py": dag_text("sales_daily", "v2")}, "two")
    promoter.sync("workflows")
    promoter.rollback("workflows", first)
    approved = promoter.approve("workflows", second)  # the held commit, on purpose
    assert (approved.outcome, approved.promoted) == ("approved", second)
    assert setup.current() == second
    with pytest.raises(PromotionError, match="not waiting for approval"):
        promoter.approve("workflows", first)


def test_approving_an_older_pending_commit_is_refused(setup: Setup) -> None:
    up = setup.upstream
    promoter = setup.promoter(auto_deploy=False)
    older = up.commit({"dags/sales_daily.py": dag_text("sales_daily", "v1")}, "one")
    promoter.sync("workflows")
    newer = up.commit({"dags/sales_daily.py": dag_text("sales_daily", "v2")}, "two")
    promoter.sync("workflows")
    promoter.approve("workflows", newer)
    # the older one no longer waits: approving the newer one settled it
    assert [n.sha for n in promoter.state.load("workflows").pending] == []
    with pytest.raises(PromotionError, match="not waiting for approval"):
        promoter.approve("workflows", older)
    assert setup.current() == newer


@pytest.mark.parametrize("tar_filter", ["data_filter", "checked by hand"])
def test_a_link_leaving_the_dag_folder_is_refused_not_crashed(
    setup: Setup, tar_filter: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Also where tarfile has no extraction filters (older patch releases, as the Debian base's
    Python in the image): the same links are refused."""
    import os
    import tarfile

    if tar_filter != "data_filter":
        monkeypatch.delattr(tarfile, "data_filter")
    up = setup.upstream
    (up.work / "dags").mkdir()
    os.symlink("/etc/passwd", up.work / "dags" / "passwd.py")
    sha = up.commit({"dags/sales_daily.py": dag_text("sales_daily")}, "a link out")
    promoter = setup.promoter()
    result = promoter.sync("workflows")
    assert (result.outcome, result.commit) == ("refused", sha), result
    assert "outside the DAG folder" in result.detail or "link" in result.detail, result.detail
    assert setup.current() is None
    assert promoter.sync("workflows").outcome == "refused"  # noted, not retried


def test_a_release_named_after_the_commit_with_other_content_is_not_pointed_at(
    setup: Setup, tmp_path: Path
) -> None:
    from adp.releases.publish import PublishRequest, publish
    from adp.validation import ValidationOptions

    sha = setup.upstream.commit({"dags/sales_daily.py": dag_text("sales_daily", "v1")}, "one")
    forged = tmp_path / "forged"
    forged.mkdir()
    (forged / "sales_daily.py").write_text(dag_text("sales_daily", "forged"))
    publish(setup.store, PublishRequest(ENV, NS, forged, version=sha, git_sha=sha),
            ValidationOptions(package=NS))  # fmt: skip
    before = setup.current()
    result = setup.promoter().sync("workflows")
    assert result.outcome == "refused" and "exists with other content" in result.detail, result
    assert setup.current() == before  # the pointer was not moved by the promoter


def test_remove_then_add_again_brings_the_namespace_back(setup: Setup) -> None:
    sha = setup.upstream.commit({"dags/sales_daily.py": dag_text("sales_daily")}, "first")
    promoter = setup.promoter()
    promoter.sync("workflows")
    assert promoter.remove("workflows") == sha
    assert setup.current() is None
    again = setup.promoter()
    result = again.sync("workflows")  # the same entry added again
    assert (result.outcome, result.promoted) == ("promoted", sha), result
    assert setup.current() == sha


def test_a_running_promoter_does_not_sync_a_repository_removed_from_the_file(
    setup: Setup,
) -> None:
    from adp.repos.config import ReposConfigError

    setup.upstream.commit({"dags/sales_daily.py": dag_text("sales_daily")}, "first")
    promoter = setup.promoter()
    write_config(setup.config, setup.root / "store", [], env=ENV)
    with pytest.raises(ReposConfigError, match="no repository named 'workflows'"):
        promoter.sync("workflows")
    assert setup.current() is None
