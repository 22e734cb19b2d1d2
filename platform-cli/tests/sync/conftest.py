"""Fixtures of the sync tests: both stores (a local folder; S3 through moto's server on
loopback, one per session), a store wrapper that counts calls, and a fault-injecting proxy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from adp.releases.local_store import LocalStore
from adp.releases.s3_store import S3Store
from adp.releases.store import Store
from adp_test_servers.s3 import S3Server, running_s3
from release_corpus import new_bucket
from sync_support import CountingStore, FaultProxy


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with running_s3(tmp_path_factory.mktemp("moto-sync")) as server:
        yield server


@pytest.fixture
def s3_env(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    for name, value in s3_server.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return s3_server


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
    proxy = FaultProxy(s3_env.endpoint).start()
    yield proxy
    proxy.stop()
