"""A release's download: one GET of its pack when most of it is missing (else one per object,
at most DOWNLOAD_THREADS at once), every byte checked either way; a failure or a bad hash in a
concurrent batch keeps the last good release and leaves no temporary file."""

from __future__ import annotations

import hashlib
from pathlib import Path

import boto3
import pytest
from adp.releases import names
from adp.releases.manifest import pack_bytes, parse_manifest
from adp.releases.s3_store import S3Store
from adp.sync import Syncer
from adp.sync.materialize import DOWNLOAD_THREADS
from adp_test_helpers.release_corpus import new_bucket
from adp_test_helpers.sync_support import CountingStore, publish_files, read_current
from adp_test_servers.fault_proxy import FaultProxy
from adp_test_servers.s3 import S3Server
from botocore.config import Config


def files_of(version: int, count: int) -> dict[str, bytes]:
    return {f"sales_{n:03d}.py": f"# v{version} file {n}\n".encode() for n in range(count)}


def as_current(files: dict[str, bytes]) -> dict[str, bytes]:
    return {f"sales/{path}": data for path, data in files.items()}


def no_temporaries(sync_dir: Path) -> bool:
    return not list(sync_dir.rglob(".tmp-*"))


def test_a_full_download_is_one_get_of_the_pack(store: CountingStore, tmp_path: Path) -> None:
    files = {**files_of(1, 50), "same.py": b"# v1 file 0\n"}  # two paths, one object
    publish_files(store, "dev", "sales", "v1", files)
    store.calls.clear()
    result = Syncer(store, "dev", tmp_path / "sync").cycle()
    assert result.status == "ok" and result.downloaded == 50
    assert store.calls["get"] == 2  # the manifest and the pack
    assert read_current(tmp_path / "sync") == as_current(files)


def test_a_release_without_a_pack_is_downloaded_object_by_object_at_most_n_at_once(
    store: CountingStore, tmp_path: Path
) -> None:
    files = files_of(1, 3 * DOWNLOAD_THREADS)
    publish_files(store, "dev", "sales", "v1", files, pack=False)
    store.calls.clear()
    result = Syncer(store, "dev", tmp_path / "sync").cycle()
    assert result.status == "ok" and result.downloaded == len(files)
    assert store.calls["get"] == 2 + len(files)  # manifest, the missing pack, every file
    assert 1 < store.most_running <= DOWNLOAD_THREADS
    assert read_current(tmp_path / "sync") == as_current(files)


def test_damaged_bytes_in_the_pack_are_downloaded_again_on_their_own(
    store: CountingStore, tmp_path: Path
) -> None:
    files = files_of(1, 10)
    publish_files(store, "dev", "sales", "v1", files, pack=False)
    manifest = parse_manifest(store.get(names.manifest_key("dev", "sales", "v1")).data, "m")
    damaged = {**files, "sales_003.py": b"# v1 file X\n"}  # same size: only the hash tells
    store.put_new(names.pack_key("dev", "sales", "v1"), pack_bytes(manifest.files, damaged))
    store.calls.clear()
    result = Syncer(store, "dev", tmp_path / "sync").cycle()
    assert result.status == "ok" and result.downloaded == 10
    assert store.calls["get"] == 3  # the manifest, the pack, the one damaged file
    assert read_current(tmp_path / "sync") == as_current(files)


@pytest.mark.parametrize("pack", [True, False])
def test_a_bad_hash_in_a_concurrent_batch_keeps_the_last_good_release(
    store: CountingStore, tmp_path: Path, pack: bool
) -> None:
    sync_dir = tmp_path / "sync"
    syncer = Syncer(store, "dev", sync_dir)
    publish_files(store, "dev", "sales", "v1", files_of(1, 5))
    first = syncer.cycle()
    publish_files(store, "dev", "sales", "v2", files_of(2, 60), corrupt="sales_042.py", pack=pack)
    result = syncer.cycle()
    assert result.status == "failed" and not result.swapped
    assert "sales_042.py" in (result.error or "") and "sha256" in (result.error or "")
    assert result.snapshot_id == first.snapshot_id
    assert read_current(sync_dir) == as_current(files_of(1, 5))
    bad = hashlib.sha256(files_of(2, 60)["sales_042.py"]).hexdigest()
    assert not (sync_dir / "objects" / bad).exists()
    assert not (sync_dir / "releases" / "sales" / "v2").exists() and no_temporaries(sync_dir)


def test_one_failed_download_of_many_stops_the_rest_and_keeps_the_last_good_release(
    s3_env: S3Server, tmp_path: Path
) -> None:
    one_file = FaultProxy(s3_env.endpoint, lambda method, path: path.endswith("/sales_020.py"))
    with one_file.running() as proxy:
        config = Config(retries={"mode": "standard", "max_attempts": 1}, max_pool_connections=32)
        client = boto3.client("s3", endpoint_url=proxy.endpoint, config=config)
        store = CountingStore(S3Store(new_bucket(s3_env), proxy.endpoint, client=client))
        sync_dir = tmp_path / "sync"
        syncer = Syncer(store, "dev", sync_dir)
        publish_files(store, "dev", "sales", "v1", files_of(1, 5))
        assert syncer.cycle().status == "ok"
        publish_files(store, "dev", "sales", "v2", files_of(2, 300), pack=False)
        store.calls.clear()
        proxy.mode, proxy.faults = "500", 1000  # every GET of sales_020.py of v2 fails
        result = syncer.cycle()
        assert result.status == "failed" and not result.swapped and proxy.injected >= 1
        assert "sales_020.py" in (result.error or "")
        # no download started after the failure: without that all 300 would be fetched (the
        # failing worker stops the others itself, however busy the waiting thread is)
        assert store.calls["get"] < 150, store.calls
        assert read_current(sync_dir) == as_current(files_of(1, 5))
        assert not (sync_dir / "releases" / "sales" / "v2").exists() and no_temporaries(sync_dir)
        proxy.faults = 0
        assert syncer.cycle().status == "ok"  # what was downloaded is reused, the rest fetched
        assert read_current(sync_dir) == as_current(files_of(2, 300))
