"""The offline PostgreSQL image (adp-postgres, built when no registry answers) takes the
official image's settings a datakit's own database service uses: POSTGRES_USER,
POSTGRES_DB and POSTGRES_HOST_AUTH_METHOD; a password is required unless the method is
trust, and a method it does not know is refused by name."""

from __future__ import annotations

import time

import docker
import pytest
from adp.dev.postgres import OFFLINE_IMAGE, build_offline
from adp_test_support import HOST_CA_BUNDLE

pytestmark = [pytest.mark.docker]


@pytest.fixture(scope="module")
def offline_image(docker_client: docker.DockerClient, layer1_image: str) -> str:
    """OFFLINE_IMAGE, built from the debootstrap base of the layer1 chain when missing."""
    from adp import facts

    try:
        docker_client.images.get(OFFLINE_IMAGE)
    except docker.errors.ImageNotFound:
        bundle = HOST_CA_BUNDLE if HOST_CA_BUNDLE.exists() else None
        build_offline(docker_client, facts.load().IMAGE_PYTHON, bundle)
    return OFFLINE_IMAGE


def started(client: docker.DockerClient, image: str, **environment: str):
    return client.containers.run(image, detach=True, environment=environment)


def test_trust_needs_no_password_and_lets_tcp_clients_in(docker_client, offline_image) -> None:
    container = started(
        docker_client,
        offline_image,
        POSTGRES_USER="pagila",
        POSTGRES_DB="pagila",
        POSTGRES_HOST_AUTH_METHOD="trust",
    )
    try:
        deadline = time.monotonic() + 60
        query = ["psql", "-h", "127.0.0.1", "-U", "pagila", "-d", "pagila", "-Atc"]
        while True:
            code, out = container.exec_run([*query, "SELECT current_user"])
            if code == 0:
                break
            assert time.monotonic() < deadline, container.logs().decode()
            time.sleep(1)
        assert out.decode().strip() == "pagila"
    finally:
        container.remove(force=True)


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        ({}, "set POSTGRES_PASSWORD, the superuser password of the new cluster"),
        (
            {"POSTGRES_HOST_AUTH_METHOD": "password", "POSTGRES_PASSWORD": "x"},
            "POSTGRES_HOST_AUTH_METHOD=password: use scram-sha-256 (the default), md5 or trust",
        ),
    ],
    ids=["no-password", "unknown-method"],
)
def test_a_missing_password_or_an_unknown_method_is_refused(
    docker_client, offline_image, environment: dict[str, str], message: str
) -> None:
    container = started(docker_client, offline_image, **environment)
    try:
        assert container.wait(timeout=60)["StatusCode"] != 0
        assert message in container.logs().decode()
    finally:
        container.remove(force=True)
