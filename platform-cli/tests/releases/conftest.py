"""Fixtures of the release tests: both stores (a local folder, S3 through moto's server on
loopback, the session's server of ../conftest.py) and DAG folders validated once per module."""

from __future__ import annotations

from pathlib import Path

import pytest
from adp.releases.local_store import LocalStore
from adp.releases.s3_store import S3Store
from adp.releases.store import Store
from adp_test_helpers.release_corpus import new_bucket


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if request.param == "local":
        return LocalStore(tmp_path / "store")
    server = request.getfixturevalue("s3_env")
    return S3Store(new_bucket(server), server.endpoint)
