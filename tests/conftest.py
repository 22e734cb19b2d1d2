"""Fixtures shared by the cross-component tests: the Docker engine and the image chain.

The image chain (offline Debian base -> oss runtime -> Layer 1) is built once per
test session with the same command a setup person runs (`make build`), using the
host's CA bundle the way a company injects its corporate CA.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import docker
import pytest
from adp_test_support import LAYER1_TAG, REPO, build_env, buildkit_docker, run


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    client = docker.from_env()
    client.ping()  # fails loudly: CI has a Docker engine, these tests never skip
    yield client
    client.close()


@pytest.fixture(scope="session")
def docker_cli() -> str:
    return buildkit_docker()


@pytest.fixture(scope="session")
def layer1_image(docker_client: docker.DockerClient) -> str:
    """layer1-airflow:latest, built offline through the whole chain by `make build`."""
    if os.environ.get("ADP_TEST_REUSE_IMAGES") == "1":
        try:
            docker_client.images.get(LAYER1_TAG)
            return LAYER1_TAG
        except docker.errors.ImageNotFound:
            pass
    make = shutil.which("make")
    assert make, "make is required to build the image chain"
    run([make, "-C", str(REPO / "layer1-base-image"), "build"], env=build_env())
    docker_client.images.get(LAYER1_TAG)
    return LAYER1_TAG


@pytest.fixture(scope="session")
def runtime_image(layer1_image: str) -> str:
    """The oss runtime image Layer 1 was built on (built by the layer1_image fixture)."""
    return "adp-airflow-runtime:3.3.2-python-3.11"
