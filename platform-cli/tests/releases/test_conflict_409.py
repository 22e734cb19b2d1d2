"""S3 may answer 409 ConditionalRequestConflict to a conditional write: the publisher retries
it with backoff, then reports a conflict. Tested against moto's server through a loopback proxy
that answers 409 to the first N writes of current.json (no mock of boto3)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from adp.releases.pointer import PointerConflict, read_pointer
from adp.releases.publish import PublishRequest, publish_validated
from adp.releases.s3_store import S3Store
from adp.validation import Report, ValidationOptions, validate
from adp_test_helpers.release_corpus import good_dags, new_bucket
from adp_test_servers.fault_proxy import FaultProxy
from adp_test_servers.s3 import S3Server


@pytest.fixture
def proxy(s3_env: S3Server) -> Iterator[FaultProxy]:
    """Answers 409 to PUTs of a key ending in current.json while ``faults`` > 0."""
    pointer_writes = FaultProxy(
        s3_env.endpoint, lambda method, path: method == "PUT" and path.endswith("/current.json")
    )
    with pointer_writes.running() as proxy:
        proxy.mode = "409"
        yield proxy


@pytest.fixture(scope="module")
def validated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Report]:
    folder = good_dags(tmp_path_factory.mktemp("good409") / "dags")
    return folder, validate([str(folder.resolve())], ValidationOptions(package="sales"))


def test_a_409_is_retried_and_the_pointer_moves(
    s3_env: S3Server, proxy: FaultProxy, validated: tuple[Path, Report]
) -> None:
    folder, report = validated
    store = S3Store(new_bucket(s3_env), proxy.endpoint)
    proxy.faults = 2
    publish_validated(store, PublishRequest("dev", "sales", folder, "v1"), report)
    assert proxy.injected == 2
    assert read_pointer(store, "dev", "sales").version == "v1"


def test_409_after_every_retry_is_reported_as_a_conflict_and_the_pointer_stays(
    s3_env: S3Server, proxy: FaultProxy, validated: tuple[Path, Report]
) -> None:
    folder, report = validated
    store = S3Store(new_bucket(s3_env), proxy.endpoint)
    publish_validated(store, PublishRequest("dev", "sales", folder, "v1"), report)
    proxy.faults = 100
    with pytest.raises(PointerConflict, match="answered 409") as refused:
        publish_validated(store, PublishRequest("dev", "sales", folder, "v2"), report)
    assert "Nothing was pointed at 'v2'" in str(refused.value)
    assert proxy.injected == 5
    assert read_pointer(store, "dev", "sales").version == "v1"
