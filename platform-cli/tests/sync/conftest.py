"""Fixtures of the sync tests: both stores (a local folder; S3 through the session's moto
server of ../conftest.py), a store wrapper that counts calls, and a fault-injecting proxy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from adp.releases.local_store import LocalStore
from adp.releases.s3_store import S3Store
from adp.releases.store import Store
from adp_test_helpers.release_corpus import new_bucket
from adp_test_helpers.sync_support import CountingStore
from adp_test_servers.fault_proxy import FaultProxy
from adp_test_servers.s3 import S3Server


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> CountingStore:
    inner: Store
    if request.param == "local":
        inner = LocalStore(tmp_path / "store")
    else:
        server = request.getfixturevalue("s3_env")
        inner = S3Store(new_bucket(server), server.endpoint)
    return CountingStore(inner)


@pytest.fixture
def proxy(s3_env: S3Server) -> Iterator[FaultProxy]:
    """Faults go to GETs of release files and packs (``/files/`` or ``/files.pack`` in the
    path)."""
    release_files = FaultProxy(
        s3_env.endpoint,
        lambda method, path: method == "GET" and ("/files/" in path or "/files.pack" in path),
    )
    with release_files.running() as proxy:
        yield proxy
