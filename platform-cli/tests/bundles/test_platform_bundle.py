"""PlatformDagBundle with Airflow's own bundle machinery on both stores (a local folder, S3):
the version is a snapshot id and the path holds exactly that snapshot; a worker's pinned
bundle rebuilds it; a new package appears at the next refresh; a failing store keeps the last
good one."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from adp.bundles.platform_bundle import BundleConfigError, PlatformDagBundle
from adp.releases.local_store import LocalStore
from adp.releases.s3_store import S3Store
from adp.releases.store import Store
from adp_test_helpers.release_corpus import new_bucket
from adp_test_helpers.sync_support import publish_files, read_tree
from airflow.dag_processing.bundles.manager import DagBundlesManager


@pytest.fixture
def storage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Airflow's bundle storage (base_dir, versions_dir) in this test's folder."""
    root = tmp_path / "bundle-storage"
    monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH", str(root))
    return root


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    """A local folder, or a bucket of moto's server on loopback (credentials from the
    environment, the AWS chain the bundle uses in Airflow)."""
    if request.param == "local":
        return LocalStore(tmp_path / "store")
    server = request.getfixturevalue("s3_env")
    return S3Store(new_bucket(server), server.endpoint)


def location(store: Store) -> dict[str, str]:
    """The bundle's kwargs naming ``store``, as dag_bundle_config_list gives them."""
    if isinstance(store, S3Store):
        return {"store": f"s3://{store.bucket}", "endpoint_url": store.endpoint_url}
    return {"store": str(store.root)}


def bundle(store: Store, **kwargs) -> PlatformDagBundle:
    return PlatformDagBundle(name="adp-dev", env="dev", **location(store), **kwargs)


def test_version_and_path_follow_the_snapshot_and_a_pinned_bundle_rebuilds_it(
    store: Store, storage: Path
) -> None:
    publish_files(store, "dev", "sales", "v1", {"sales_daily.py": b"one"})
    processor = bundle(store)
    processor.initialize()
    first = processor.get_current_version().version
    assert processor.path == processor.base_dir / "sync" / "current"
    assert read_tree(processor.path) == {"sales/sales_daily.py": b"one"}

    publish_files(store, "dev", "sales", "v2", {"sales_daily.py": b"two"})
    processor.refresh()
    second = processor.get_current_version().version
    assert second != first
    assert read_tree(processor.path) == {"sales/sales_daily.py": b"two"}

    worker = bundle(store, version=first)  # what a task of a run started on v1 gets
    worker.initialize()
    assert worker.path == worker.versions_dir / first / "snapshots" / first
    assert read_tree(worker.path) == {"sales/sales_daily.py": b"one"}
    assert worker.get_current_version().version == first
    with pytest.raises(BundleConfigError, match="pinned"):
        worker.refresh()


def test_a_new_package_appears_at_the_next_refresh(store: Store, storage: Path) -> None:
    if isinstance(store, LocalStore):
        store.root.mkdir()  # a store with no package yet: an empty snapshot
    processor = bundle(store)
    processor.initialize()
    assert read_tree(processor.path) == {}
    publish_files(store, "dev", "billing", "1", {"billing_dag.py": b"b"})
    processor.refresh()
    assert read_tree(processor.path) == {"billing/billing_dag.py": b"b"}


def test_a_failing_store_keeps_the_last_good_snapshot(
    store: Store, storage: Path, caplog: pytest.LogCaptureFixture
) -> None:
    publish_files(store, "dev", "sales", "v1", {"sales_daily.py": b"one"})
    processor = bundle(store)
    processor.initialize()
    good = processor.get_current_version().version
    publish_files(store, "dev", "sales", "v2", {"sales_daily.py": b"two"}, corrupt="sales_daily.py")
    with caplog.at_level(logging.WARNING):
        processor.refresh()
    assert "sha256" in caplog.text or "hash" in caplog.text, caplog.text
    assert processor.get_current_version().version == good
    assert read_tree(processor.path) == {"sales/sales_daily.py": b"one"}


def test_airflow_builds_it_from_dag_bundle_config_list(
    store: Store, storage: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from adp.bundles.config import bundle_entry, config_list

    publish_files(store, "dev", "sales", "v1", {"sales_daily.py": b"one"})
    where = location(store)
    value = config_list(
        bundle_entry(
            "dev", where["store"], endpoint_url=where.get("endpoint_url"), refresh_interval=7
        )
    )
    monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", value)
    monkeypatch.setenv("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    made = {b.name: b for b in DagBundlesManager().get_all_dag_bundles()}
    assert set(made) == {"dags-folder", "adp-dev"}
    platform = made["adp-dev"]
    assert isinstance(platform, PlatformDagBundle) and platform.refresh_interval == 7
    platform.initialize()
    assert read_tree(platform.path) == {"sales/sales_daily.py": b"one"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"env": "Prod", "store": "/srv/releases"}, "kwargs: environment 'Prod'"),
        ({"env": "dev", "store": "ftp://host/x"}, "kwargs: --bucket 'ftp://host/x'"),
        ({"env": "dev", "store": "/srv/r", "version": "v1"}, "version 'v1'"),
        ({"env": "dev", "store": "/srv/r", "keep": 0}, "kwargs.keep"),
    ],
)
def test_bad_configuration_names_the_entry_and_the_field(
    storage: Path, kwargs: dict, message: str
) -> None:
    with pytest.raises(BundleConfigError) as error:
        PlatformDagBundle(name="adp-x", **kwargs)
    assert "dag_bundle_config_list entry 'adp-x'" in str(error.value)
    assert message in str(error.value)
