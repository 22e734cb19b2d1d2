"""Publish, list and roll back on both stores (a local folder and S3 through moto's server):
immutable releases, prefix isolation, refused names and DAG ids, and one winner per race."""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path

import pytest
from adp.releases import names
from adp.releases.listing import list_releases
from adp.releases.manifest import parse_manifest
from adp.releases.pointer import PointerConflict, ReleaseError, read_pointer, rollback
from adp.releases.publish import (
    PublishRequest,
    ValidationFailed,
    VersionExists,
    collect_files,
    commit,
    plan_release,
    publish,
    publish_validated,
)
from adp.releases.store import UNCHANGED, Store
from adp.validation import Report, ValidationOptions, validate
from adp_test_helpers.dag_corpus import dag
from adp_test_helpers.release_corpus import good_dags, write_dags

OPTIONS = ValidationOptions(package="sales")


@pytest.fixture(scope="module")
def validated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Report]:
    """The 'sales' folder and its validation report (validated once: an import check takes
    seconds)."""
    folder = good_dags(tmp_path_factory.mktemp("good") / "dags")
    report = validate([str(folder.resolve())], OPTIONS)
    assert not report.failing(OPTIONS.fail_on), report.findings
    return folder, report


def request(folder: Path, version: str | None = None, **extra: str) -> PublishRequest:
    return PublishRequest("dev", "sales", folder, version, **extra)


def keys(store: Store, prefix: str = "") -> list[str]:
    try:
        return list(store.list(prefix))
    except ReleaseError:
        return []
    except Exception as error:  # the local store before its first write
        if "does not exist" in str(error):
            return []
        raise


def test_publish_writes_a_release_under_the_package_prefix_then_the_pointer(
    store: Store, validated: tuple[Path, Report]
) -> None:
    folder, report = validated
    plan = publish_validated(store, request(folder, "v1", image_tag="sales:1"), report)
    written = keys(store)
    assert written == sorted(
        [
            "dev/sales/current.json",
            "dev/sales/releases/v1/files/.airflowignore",
            "dev/sales/releases/v1/files/sales_daily.py",
            "dev/sales/releases/v1/files/sales_weekly.py",
            "dev/sales/releases/v1/files/sql/report.sql",
            "dev/sales/releases/v1/files.pack",
            "dev/sales/releases/v1/manifest.json",
        ]
    )
    manifest = parse_manifest(store.get("dev/sales/releases/v1/manifest.json").data, "m")
    assert manifest == plan.manifest
    assert manifest.image_tag == "sales:1" and manifest.git_sha is None
    assert {d.dag_id for d in manifest.dags} == {"sales_daily", "sales_weekly"}
    for item in manifest.files:
        data = store.get(f"dev/sales/releases/v1/files/{item.path}").data
        assert (item.size, item.sha256) == (len(data), hashlib.sha256(data).hexdigest())
        assert data == (folder / item.path).read_bytes()
    pack = store.get("dev/sales/releases/v1/files.pack").data  # the files, in manifest order
    assert pack == b"".join((folder / item.path).read_bytes() for item in manifest.files)
    pointer = read_pointer(store, "dev", "sales").pointer
    assert pointer is not None and (pointer.version, pointer.previous) == ("v1", None)
    raw = store.get("dev/sales/releases/v1/manifest.json").data
    assert pointer.manifest_sha256 == hashlib.sha256(raw).hexdigest()


def test_list_shows_every_release_and_the_pointer_and_rollback_moves_it_back(
    store: Store, validated: tuple[Path, Report]
) -> None:
    folder, report = validated
    publish_validated(store, request(folder, "v1"), report)
    second = publish_validated(store, request(folder), report)  # default version
    version = second.manifest.version
    assert version.endswith("-" + second.manifest.content_sha256[:8])
    (listed,) = list_releases(store, "dev")
    assert listed.package == "sales"
    assert [r.version for r in listed.releases] == ["v1", version]  # oldest first
    assert listed.current.version == version and listed.current.previous == "v1"
    pointer = rollback(store, "dev", "sales", "v1", "ops@host")
    assert (pointer.version, pointer.previous, pointer.action) == ("v1", version, "rollback")
    assert read_pointer(store, "dev", "sales").version == "v1"
    assert rollback(store, "dev", "sales", "v1", "ops@host") == pointer  # already there
    assert list_releases(store, "dev", "other")[0].releases == []


def test_rollback_refuses_a_missing_or_unreadable_release(
    store: Store, validated: tuple[Path, Report]
) -> None:
    folder, report = validated
    publish_validated(store, request(folder, "v1"), report)
    before = store.get("dev/sales/current.json")
    with pytest.raises(ReleaseError, match="'v9' of dev/sales does not exist"):
        rollback(store, "dev", "sales", "v9", "ops")
    store.put_new("dev/sales/releases/broken/manifest.json", b"{not json")
    with pytest.raises(ReleaseError, match=r"broken/manifest\.json: not JSON"):
        rollback(store, "dev", "sales", "broken", "ops")
    other = json.loads(store.get("dev/sales/releases/v1/manifest.json").data)
    store.put_new("dev/sales/releases/moved/manifest.json", json.dumps(other).encode())
    with pytest.raises(
        ReleaseError, match="names dev/sales version v1, not dev/sales version moved"
    ):
        rollback(store, "dev", "sales", "moved", "ops")
    assert store.get("dev/sales/current.json") == before
    (listed,) = list_releases(store, "dev")
    problems = {r.version: r.problem for r in listed.releases}
    assert "not JSON" in problems["broken"] and problems["v1"] is None


def test_an_existing_version_is_refused_and_nothing_changes(
    store: Store, validated: tuple[Path, Report]
) -> None:
    folder, report = validated
    publish_validated(store, request(folder, "v1"), report)
    before = {key: store.get(key) for key in keys(store)}
    with pytest.raises(VersionExists, match=r"'v1' of dev/sales already exists.*immutable"):
        publish_validated(store, request(folder, "v1"), report)
    # A half-written release (files, no manifest yet) is refused at its first taken key.
    store.put_new("dev/sales/releases/v2/files/sales_daily.py", b"# someone else's")
    with pytest.raises(VersionExists, match=r"v2/files/sales_daily\.py already exists"):
        publish_validated(store, request(folder, "v2"), report)
    assert read_pointer(store, "dev", "sales").version == "v1"
    assert store.get("dev/sales/releases/v2/manifest.json") is None
    for key, blob in before.items():
        assert store.get(key) == blob


@pytest.mark.parametrize(
    ("env", "package", "version", "field"),
    [
        ("../prod", "sales", "v1", "environment"),
        ("Dev", "sales", "v1", "environment"),
        ("dev", "Sales", "v1", "package"),
        ("dev", "sales/../other", "v1", "package"),
        ("dev", "sales", "../v1", "version"),
        ("dev", "sales", "v1/../../x", "version"),
        ("dev", "sales", "v1..2", "version"),
        ("dev", "sales", "", "version"),
    ],
)
def test_bad_names_are_refused_before_anything_is_written(
    store: Store, validated: tuple[Path, Report], env: str, package: str, version: str, field: str
) -> None:
    folder, report = validated
    with pytest.raises(names.InvalidName, match=field):
        publish_validated(store, PublishRequest(env, package, folder, version or "x/y"), report)
    assert keys(store) == []


@pytest.mark.parametrize(
    "path",
    ["../x.py", "a/../../x.py", "/etc/passwd", "a\\b.py", "a//b.py", "./a.py", "a/.", "a\x00b",
     "a\nb.py", "a\x7fb", ""],
)  # fmt: skip
def test_paths_that_would_leave_the_release_are_refused(store: Store, path: str) -> None:
    with pytest.raises(names.InvalidName):
        names.check_path(path)
    with pytest.raises(names.InvalidName):
        names.file_key("dev", "sales", "v1", path)
    with pytest.raises(names.InvalidName):
        store.put_new(f"dev/sales/{path}" if path.startswith("..") else path, b"x")
    assert keys(store) == []


def test_a_package_writes_only_under_its_own_prefix() -> None:
    prefix = names.package_prefix("dev", "sales")
    assert names.require_under("dev/sales/releases/v1/files/a.py", prefix)
    for key in ["dev/other/current.json", "dev/sales_x/current.json", "prod/sales/current.json"]:
        with pytest.raises(names.InvalidName, match="outside 'dev/sales/'"):
            names.require_under(key, prefix)
    assert names.file_key("dev", "sales", "v1", "manifest.json").endswith("files/manifest.json")


def test_a_file_linking_out_of_the_folder_is_refused(
    store: Store, tmp_path: Path, validated: tuple[Path, Report]
) -> None:
    folder, report = validated
    outside = tmp_path / "secret.txt"
    outside.write_text("not for the release")
    link = folder / "notes.txt"
    link.symlink_to(outside)
    try:
        with pytest.raises(ReleaseError, match="outside"):
            publish_validated(store, request(folder, "v1"), report)
    finally:
        link.unlink()
    assert keys(store) == []


def test_a_dry_run_writes_nothing(store: Store, validated: tuple[Path, Report]) -> None:
    folder, report = validated
    plan = publish_validated(store, request(folder, "v1"), report, dry_run=True)
    assert plan.keys[-1] == "dev/sales/releases/v1/manifest.json" and len(plan.keys) == 6
    assert plan.keys[-2] == "dev/sales/releases/v1/files.pack"
    assert keys(store) == []


def test_a_folder_changed_while_it_was_validated_is_refused(
    store: Store, validated: tuple[Path, Report]
) -> None:
    """What is published is what was read before validation; an edit in between (here: after
    the read, as it would land while the import check runs) refuses the publication."""
    source, report = validated
    read = collect_files(source)
    target = sorted(read)[0]
    edited = (source / target).read_bytes()
    try:
        (source / target).write_bytes(edited + b"\nimport os  # landed during validation\n")
        with pytest.raises(ReleaseError, match=f"{target} in .* changed while the folder was"):
            publish_validated(store, request(source, "v1"), report, read=read)
    finally:
        (source / target).write_bytes(edited)
    assert keys(store) == []


def test_an_invalid_dag_is_refused_and_nothing_is_written(store: Store, tmp_path: Path) -> None:
    folder = write_dags(
        tmp_path / "dags",
        {"sales_ok.py": dag("sales_ok"), "sales_broken.py": dag("sales_broken") + "def (:\n"},
    )
    with pytest.raises(ValidationFailed, match="1 problem") as refused:
        publish(store, request(folder, "v1"), OPTIONS)
    assert [f.rule for f in refused.value.findings] == ["ADP010"]
    assert keys(store) == []


@pytest.fixture(scope="module")
def foreign(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Report]:
    """A 'sales' folder with another package's DAG id, its ADP100 suppressed inline: the
    validation passes, the publisher must still refuse it."""
    text = dag("crm_daily").replace(
        "def crm_daily():", "def crm_daily():  # adp: ignore[ADP100] we own it, really"
    )
    text = text.replace("dag_id='crm_daily',", "dag_id='crm_daily',  # adp: ignore[ADP100] ours")
    folder = write_dags(
        tmp_path_factory.mktemp("foreign") / "dags",
        {"sales_daily.py": dag("sales_daily"), "sales_crm.py": text},
    )
    return folder, validate([str(folder.resolve())], OPTIONS)


def test_a_foreign_dag_id_is_refused_even_when_its_finding_is_suppressed(
    store: Store, foreign: tuple[Path, Report]
) -> None:
    folder, report = foreign
    assert [d.dag_id for d in report.dags] == ["crm_daily", "sales_daily"]
    assert not report.failing(OPTIONS.fail_on)  # the suppression holds
    with pytest.raises(ValidationFailed, match=r"'crm_daily' .* do not start with 'sales_'"):
        publish_validated(store, request(folder, "v1"), report)
    assert keys(store) == []


def test_a_foreign_dag_id_is_refused_by_validation(store: Store, tmp_path: Path) -> None:
    folder = write_dags(tmp_path / "dags", {"sales_crm.py": dag("crm_daily")})
    with pytest.raises(ValidationFailed) as refused:
        publish(store, request(folder, "v1"), OPTIONS)
    assert [f.rule for f in refused.value.findings] == ["ADP100"]
    assert keys(store) == []


def test_a_report_of_another_folder_is_refused(
    store: Store, tmp_path: Path, validated: tuple[Path, Report]
) -> None:
    _, report = validated
    other = good_dags(tmp_path / "other")
    with pytest.raises(ReleaseError, match="validate the folder being published"):
        publish_validated(store, request(other, "v1"), report)
    assert keys(store) == []


PUBLISHERS = 16
ROUNDS = 4


def test_racing_publishers_one_wins_each_round_and_no_update_is_lost(
    store: Store, validated: tuple[Path, Report]
) -> None:
    """16 publishers read the pointer, then all move it at once: each round exactly one wins,
    the others get a conflict, and each winner's pointer names the previous round's winner."""
    folder, report = validated
    winners: list[str] = []
    pointers = []
    for round_ in range(ROUNDS):
        barrier = threading.Barrier(PUBLISHERS)
        outcomes: dict[int, str | Exception] = {}

        def publisher(
            i: int,
            round_: int = round_,
            barrier: threading.Barrier = barrier,
            outcomes: dict[int, str | Exception] = outcomes,
        ) -> None:
            try:
                plan = plan_release(store, request(folder, f"r{round_}-p{i}"), report)
                barrier.wait(timeout=60)
                commit(store, plan)
                pointers.append(plan.pointer)
                outcomes[i] = "won"
            except Exception as failure:
                outcomes[i] = failure

        threads = [threading.Thread(target=publisher, args=(i,)) for i in range(PUBLISHERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        won = [i for i, outcome in outcomes.items() if outcome == "won"]
        lost = [o for o in outcomes.values() if o != "won"]
        assert len(won) == 1, outcomes
        assert len(lost) == PUBLISHERS - 1
        for error in lost:
            assert isinstance(error, PointerConflict), repr(error)
            assert "another publisher won" in str(error)
        winners.append(f"r{round_}-p{won[0]}")
        assert read_pointer(store, "dev", "sales").version == winners[-1]
    assert [p.version for p in pointers] == winners
    assert [p.previous for p in pointers] == [None, *winners[:-1]]
    (listed,) = list_releases(store, "dev")
    assert len(listed.releases) == PUBLISHERS * ROUNDS  # every loser's release exists, unused


def test_folders_lists_one_level_and_get_changed_answers_unchanged_for_the_same_etag(
    store: Store,
) -> None:
    store.put_new("dev/sales/releases/v1/files/a.py", b"a")
    store.put_new("dev/sales/current.json", b"{}")
    store.put_new("dev/hr/current.json", b"{}")
    store.put_new("prod/ops/current.json", b"{}")
    assert store.folders("dev/") == ["hr", "sales"]
    assert store.folders("dev/sales/") == ["releases"]
    assert store.folders("qa/") == []
    first = store.get_changed("dev/sales/current.json", None)
    assert first is not None and first is not UNCHANGED and first.data == b"{}"
    assert store.get_changed("dev/sales/current.json", first.etag) is UNCHANGED
    store.put_if("dev/sales/current.json", b'{"moved": 1}', first.etag)
    moved = store.get_changed("dev/sales/current.json", first.etag)
    assert moved is not UNCHANGED and moved.data == b'{"moved": 1}'
    assert store.get_changed("dev/none/current.json", first.etag) is None


AIRFLOW_UID = 50000  # the user Airflow's processes run as (astro)


def test_a_local_store_is_shared_by_the_publisher_and_another_user(tmp_path: Path) -> None:
    """The publisher (here root) writes files any user can read; another user (Airflow's
    dag-processor recording a snapshot) can write where it is allowed to."""
    import os

    from adp.releases.local_store import LocalStore

    root = tmp_path / "store"
    LocalStore(root).put_new("dev/sales/current.json", b"{}")
    (root / "dev" / "_snapshots").mkdir()
    (root / "dev" / "_snapshots").chmod(0o777)
    for folder in (tmp_path, *tmp_path.parents):
        if folder.stat().st_mode & 0o011 != 0o011:  # pytest's folders are 0700: let it in
            folder.chmod(folder.stat().st_mode | 0o011)
    child = os.fork()
    if child == 0:  # the other user: its own process, as Airflow's services are
        code = 1
        try:
            os.setgid(0)  # astro's group in the images
            os.setuid(AIRFLOW_UID)
            store = LocalStore(root)
            blob = store.get("dev/sales/current.json")
            store.put_new("dev/_snapshots/abc.json", b"snapshot")
            code = 0 if blob is not None and blob.data == b"{}" else 3
        finally:
            os._exit(code)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert (root / "dev" / "_snapshots" / "abc.json").read_bytes() == b"snapshot"
    assert (root / "dev" / "sales" / "current.json").stat().st_mode & 0o044 == 0o044
