"""A write whose answer is lost (the server did it, the connection closed before the answer)
is retried by botocore and then refused by its own condition (412). The publisher recognises
its own bytes and goes on, instead of reporting a conflict nobody caused. A publish stopped
half way runs again with the same content; other content under that version stays refused.
Real S3 (moto's server) through a loopback proxy that loses chosen answers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from adp.releases.pointer import read_pointer, rollback
from adp.releases.publish import PublishRequest, VersionExists, plan_release, publish_validated
from adp.releases.s3_store import S3Store
from adp.validation import Report, ValidationOptions, validate
from adp_test_helpers.release_corpus import good_dags, new_bucket
from adp_test_servers.fault_proxy import FaultProxy
from adp_test_servers.s3 import S3Server


@pytest.fixture(scope="module")
def validated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Report]:
    folder = good_dags(tmp_path_factory.mktemp("lost") / "dags")
    return folder, validate([str(folder.resolve())], ValidationOptions(package="sales"))


@pytest.fixture
def puts(s3_env: S3Server) -> Iterator[FaultProxy]:
    """Loses the answer of the next chosen PUT (``select`` set by each test)."""
    chosen: list[str] = []
    proxy = FaultProxy(
        s3_env.endpoint,
        lambda method, path: method == "PUT" and any(path.endswith(c) for c in chosen),
    )
    proxy.chosen = chosen  # type: ignore[attr-defined]
    with proxy.running():
        proxy.mode = "lost"
        yield proxy


@pytest.mark.parametrize("lose", ["/current.json", "/manifest.json", "/sales_daily.py"])
def test_a_lost_answer_to_a_publish_write_is_not_a_conflict(
    s3_env: S3Server, puts: FaultProxy, validated: tuple[Path, Report], lose: str
) -> None:
    folder, report = validated
    store = S3Store(new_bucket(s3_env), puts.endpoint)
    puts.chosen.append(lose)  # type: ignore[attr-defined]
    puts.faults = 1
    publish_validated(store, PublishRequest("dev", "sales", folder, "v1"), report)
    assert puts.injected == 1  # the answer was really lost, and the write retried
    assert read_pointer(store, "dev", "sales").version == "v1"


def test_a_lost_answer_to_a_rollback_is_not_a_conflict(
    s3_env: S3Server, puts: FaultProxy, validated: tuple[Path, Report]
) -> None:
    folder, report = validated
    store = S3Store(new_bucket(s3_env), puts.endpoint)
    publish_validated(store, PublishRequest("dev", "sales", folder, "v1"), report)
    publish_validated(store, PublishRequest("dev", "sales", folder, "v2"), report)
    puts.chosen.append("/current.json")  # type: ignore[attr-defined]
    puts.faults = 1
    rollback(store, "dev", "sales", "v1", "ops@example.com")
    assert puts.injected == 1
    assert read_pointer(store, "dev", "sales").version == "v1"


def test_a_publish_stopped_half_way_runs_again_and_other_content_is_refused(
    s3_env: S3Server, validated: tuple[Path, Report], tmp_path: Path
) -> None:
    folder, report = validated
    store = S3Store(new_bucket(s3_env), s3_env.endpoint)
    request = PublishRequest("dev", "sales", folder, "v1")
    plan = plan_release(store, request, report)
    first = sorted(plan.files)[0]
    store.put_new(first, plan.files[first])  # the files a stopped publish had written
    publish_validated(store, request, report)
    assert read_pointer(store, "dev", "sales").version == "v1"

    other = store.get(first)
    assert other is not None
    again = PublishRequest("dev", "sales", folder, "v2")
    half = plan_release(store, again, report)
    key = sorted(half.files)[0]
    store.put_new(key, b"# other bytes under the same version\n")
    with pytest.raises(VersionExists, match="immutable"):
        publish_validated(store, again, report)
    assert read_pointer(store, "dev", "sales").version == "v1"
