"""One sync cycle on both stores: what it downloads, what it skips, what it keeps."""

from __future__ import annotations

import hashlib
from pathlib import Path

from adp.releases import names
from adp.releases.local_store import LocalStore
from adp.sync import Syncer, materialize_snapshot
from adp.sync.agent import Agent
from adp.sync.health import read_health
from adp.sync.snapshot import snapshot_key
from adp_test_helpers.sync_support import CountingStore, publish_files, read_current

SALES = {"sales_daily.py": b"# daily\n", "sql/report.sql": b"select 1;\n"}
HR = {"hr_pay.py": b"# pay\n"}


def test_first_sync_materializes_every_package_and_records_the_snapshot(
    store: CountingStore, tmp_path: Path
) -> None:
    publish_files(store, "dev", "sales", "v1", SALES)
    publish_files(store, "dev", "hr", "v1", HR)
    publish_files(store, "prod", "sales", "v9", {"sales_x.py": b"prod\n"})
    result = Syncer(store, "dev", tmp_path / "sync").cycle()
    assert (
        result.status == "ok" and result.swapped and result.downloaded == 3
    )  # files; manifests are not counted
    assert read_current(tmp_path / "sync") == {
        "sales/sales_daily.py": b"# daily\n",
        "sales/sql/report.sql": b"select 1;\n",
        "hr/hr_pay.py": b"# pay\n",
    }
    assert store.get(snapshot_key("dev", result.snapshot_id)) is not None


def test_nothing_changed_downloads_nothing_and_asks_once_per_pointer(
    store: CountingStore, tmp_path: Path
) -> None:
    publish_files(store, "dev", "sales", "v1", SALES)
    publish_files(store, "dev", "hr", "v1", HR)
    syncer = Syncer(store, "dev", tmp_path / "sync")
    first = syncer.cycle()
    store.calls.clear()
    second = syncer.cycle()
    assert second.status == "ok" and not second.swapped and second.downloaded == 0
    assert second.snapshot_id == first.snapshot_id
    assert dict(store.calls) == {"folders": 1, "get_changed": 2}


def test_one_changed_file_downloads_one_object(store: CountingStore, tmp_path: Path) -> None:
    publish_files(store, "dev", "sales", "v1", SALES)
    syncer = Syncer(store, "dev", tmp_path / "sync")
    syncer.cycle()
    publish_files(store, "dev", "sales", "v2", {**SALES, "sales_daily.py": b"# daily v2\n"})
    store.calls.clear()
    result = syncer.cycle()
    assert result.swapped and result.downloaded == 1
    assert store.calls["get"] == 2  # the manifest and the one changed file
    assert read_current(tmp_path / "sync")["sales/sales_daily.py"] == b"# daily v2\n"


def test_a_restarted_agent_reuses_what_it_has(store: CountingStore, tmp_path: Path) -> None:
    publish_files(store, "dev", "sales", "v1", SALES)
    Syncer(store, "dev", tmp_path / "sync").cycle()
    store.calls.clear()
    result = Syncer(store, "dev", tmp_path / "sync").cycle()
    assert result.status == "ok" and not result.swapped and result.downloaded == 0
    assert store.calls["get"] == 0


def test_a_package_without_pointer_is_left_out(store: CountingStore, tmp_path: Path) -> None:
    publish_files(store, "dev", "sales", "v1", SALES)
    store.put_new(names.file_key("dev", "draft", "v1", "draft_a.py"), b"# never pointed at\n")
    result = Syncer(store, "dev", tmp_path / "sync").cycle()
    assert result.status == "ok" and set(result.packages) == {"sales"}
    assert set(read_current(tmp_path / "sync")) == {"sales/sales_daily.py", "sales/sql/report.sql"}


def test_a_corrupt_object_in_the_store_keeps_the_last_good_release_and_is_reported(
    store: CountingStore, tmp_path: Path
) -> None:
    publish_files(store, "dev", "sales", "v1", SALES)
    publish_files(store, "dev", "hr", "v1", HR)
    agent = Agent(Syncer(store, "dev", tmp_path / "sync"), interval=30)
    first = agent.run_cycle()
    before = read_current(tmp_path / "sync")
    publish_files(store, "dev", "sales", "v2", {**SALES, "sales_daily.py": b"# v2\n"})
    key = names.file_key("dev", "sales", "v2", "sales_daily.py")
    corrupt_in_store(store, key, b"# v3\n")  # same size: only the hash tells
    result = agent.run_cycle()
    assert result.status == "degraded" and "sha256" in result.package_errors["sales"]
    assert result.snapshot_id == first.snapshot_id and not result.swapped
    assert read_current(tmp_path / "sync") == before
    health = read_health(tmp_path / "sync" / "health.json")
    assert health["status"] == "degraded" and "sales" in health["last_error"]
    assert health["packages"]["sales"]["version"] == "v1"
    assert "sha256" in health["packages"]["sales"]["error"]


def test_a_corrupt_local_object_is_found_and_downloaded_again(
    store: CountingStore, tmp_path: Path
) -> None:
    publish_files(store, "dev", "sales", "v1", SALES)
    syncer = Syncer(store, "dev", tmp_path / "sync")
    syncer.cycle()
    report = hashlib.sha256(SALES["sql/report.sql"]).hexdigest()
    (tmp_path / "sync" / "objects" / report).write_bytes(b"bit rot")  # in place, as rot is
    publish_files(store, "dev", "sales", "v2", {**SALES, "sales_daily.py": b"# v2\n"})
    result = syncer.cycle()
    assert result.status == "ok" and result.downloaded == 2
    assert read_current(tmp_path / "sync")["sales/sql/report.sql"] == b"select 1;\n"


def test_materialize_snapshot_rebuilds_exactly_a_snapshot_on_a_fresh_folder(
    store: CountingStore, tmp_path: Path
) -> None:
    publish_files(store, "dev", "sales", "v1", SALES)
    publish_files(store, "dev", "hr", "v1", HR)
    syncer = Syncer(store, "dev", tmp_path / "sync")
    pinned = syncer.cycle().snapshot_id
    expected = read_current(tmp_path / "sync")
    publish_files(store, "dev", "sales", "v2", {"sales_new.py": b"# new\n"})
    assert syncer.cycle().swapped
    folder = materialize_snapshot(store, "dev", pinned, tmp_path / "worker")
    assert folder == tmp_path / "worker" / "snapshots" / pinned
    from adp_test_helpers.sync_support import read_tree

    assert read_tree(folder) == expected
    assert not (tmp_path / "worker" / "current").exists()


def test_old_snapshots_are_pruned_but_the_kept_ones_stay_whole(
    store: CountingStore, tmp_path: Path
) -> None:
    syncer = Syncer(store, "dev", tmp_path / "sync", keep=2)
    ids, manifests = [], []
    for n in range(4):
        pointer = publish_files(store, "dev", "sales", f"v{n}", {"sales_a.py": f"# {n}\n".encode()})
        manifests.append(pointer.manifest_sha256)
        ids.append(syncer.cycle().snapshot_id)
    snapshots = tmp_path / "sync" / "snapshots"
    assert sorted(p.name for p in snapshots.iterdir() if p.is_dir()) == sorted(ids[2:])
    releases = tmp_path / "sync" / "releases" / "sales"
    assert sorted(p.name for p in releases.iterdir()) == sorted(manifests[2:])
    assert len(list((tmp_path / "sync" / "objects").iterdir())) == 4  # 2 files, 2 manifests
    assert read_current(tmp_path / "sync") == {"sales/sales_a.py": b"# 3\n"}


def corrupt_in_store(store: CountingStore, key: str, data: bytes) -> None:
    """Change an object's bytes behind the store's back (a bucket's object overwritten)."""
    inner = store.inner
    if isinstance(inner, LocalStore):
        inner.root.joinpath(*key.split("/")).write_bytes(data)
    else:
        inner.client.put_object(Bucket=inner.bucket, Key=key, Body=data)


def test_without_recording_no_snapshot_document_is_written(
    store: CountingStore, tmp_path: Path
) -> None:
    publish_files(store, "dev", "sales", "v1", SALES)
    result = Syncer(store, "dev", tmp_path / "sync", record=False).cycle()
    assert result.status == "ok" and store.calls["put_new"] == 2 + 2  # publish only (+ pack)
    assert list(store.list("dev/_snapshots/")) == []
