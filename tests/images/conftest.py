"""Fixtures for the runtime images' tests (adp images, runtime-environments/).

Docker tests build every runtime image once per session, through the same driver code as
`make images`, under a test-only repository name so they never overwrite real tags.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from adp.images import builder, discovery
from adp.images.config import ImageConfig, load_config, source_tree
from adp_test_servers.postgres import running_postgres

TREE = source_tree()

TEST_REPO = "adp-runtime-test"
TEST_VERSION = "pytest"
SYSTEM_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
PG_BIN = Path(os.environ.get("ADP_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))


@pytest.fixture(scope="session", autouse=True)
def ca_bundle() -> Iterator[None]:
    """Behind a TLS-intercepting proxy the host's store is what builds must trust (see
    scripts/stage-ca-certificates). Defaults CA_BUNDLE for these tests only; CI and
    developers may set it themselves."""
    if "CA_BUNDLE" in os.environ or not Path(SYSTEM_CA_BUNDLE).is_file():
        yield
        return
    os.environ["CA_BUNDLE"] = SYSTEM_CA_BUNDLE
    try:
        yield
    finally:
        os.environ.pop("CA_BUNDLE", None)


@pytest.fixture(scope="session")
def test_config() -> ImageConfig:
    """The real settings (images.env, facts.env, the environment) under test-only names."""
    return replace(load_config(), registry="", repo=TEST_REPO, version=TEST_VERSION)


@pytest.fixture(scope="session")
def base_image(docker_cli: str, test_config: ImageConfig) -> str:
    """The foundation's base; built offline by scripts/build-debian-base when missing."""
    proc = subprocess.run(
        [str(TREE.scripts / "build-debian-base"), test_config.image_python],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return test_config.image_python


@pytest.fixture(scope="session")
def built_images(
    docker_cli: str, base_image: str, test_config: ImageConfig, tmp_path_factory
) -> dict[str, str]:
    """Build every discovered runtime type once (in parallel); map type -> tag.

    RUNTIME_TEST_NO_CACHE=1 rebuilds every layer (package caches stay warm).
    """
    runtimes = discovery.discover(TREE.runtime_root)
    options = builder.BuildOptions(
        log_dir=tmp_path_factory.mktemp("build-logs"),
        no_cache=os.environ.get("RUNTIME_TEST_NO_CACHE") == "1",
    )
    results = builder.build_all(runtimes, test_config, options, docker=docker_cli)
    failed = [f"{r.name} ({r.log}):\n{r.error}" for r in results if not r.ok]
    assert not failed, "runtime image builds failed:\n" + "\n".join(failed)
    return {r.name: r.tag for r in results}


@pytest.fixture(scope="session")
def docker_sdk(docker_client):
    """The Docker SDK client of tests/conftest.py (as is `docker_cli`, the BuildKit client)."""
    return docker_client


@dataclass(frozen=True)
class Postgres:
    host: str
    port: int
    user: str
    password: str
    dbname: str


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A throw-away PostgreSQL on 127.0.0.1 with a password-authenticated role `dbt`."""
    password = "dbt-" + os.urandom(6).hex()
    with running_postgres(
        hba_lines=["host all dbt 127.0.0.1/32 scram-sha-256"], host_auth="reject", bindir=PG_BIN
    ) as pg:
        pg.psql(f"CREATE ROLE dbt LOGIN PASSWORD '{password}'")
        pg.psql("CREATE DATABASE analytics OWNER dbt")
        yield Postgres(pg.host, pg.port, "dbt", password, "analytics")
