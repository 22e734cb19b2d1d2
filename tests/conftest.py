"""Fixtures shared by the cross-component tests: the Docker engine, the image chain, the
datakit template, and the Astro-shaped Airflow stack.

The image chain (offline Debian base -> oss runtime -> Layer 1) is built once per
test session with the same command a setup person runs (`make build`), using the
host's CA bundle the way a company injects its corporate CA. The template's default
datakit is rendered and built once per session, and its Airflow stack started once per
compose shape: tests that need a running Airflow share them.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
from adp import facts
from adp_test_servers.airflow_stack import AirflowStack, running_airflow_stack
from adp_test_support import (
    LAYER1_TAG,
    REPO,
    build_datakit,
    build_env,
    buildkit_docker,
    commit_all,
    copy_template_files,
    git,
    run,
)

# The datakit most stack tests run: the template's defaults, plus the runtime-images DAG
# (it must parse with the image's cncf-kubernetes provider).
TEMPLATE_DATAKIT = "image-test-kit"


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
    f = facts.load()
    return f"adp-airflow-runtime:{f.AIRFLOW_VERSION}-python-{f.PYTHON_VERSION}"


@pytest.fixture(scope="session")
def template_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repository holding the current template files, tagged v99.0.0."""
    repo = copy_template_files(tmp_path_factory.mktemp("template-repo"))
    git(repo, "init", "-q")
    commit_all(repo, "template under test", tag="v99.0.0")
    return repo


@pytest.fixture(scope="session")
def render() -> Callable[..., Path]:
    """render(src, dst, **answers): `copier copy --defaults` with the given answers.

    Uses Copier's Python API (same code path as the CLI, without paying for
    its start-up once per rendering); tests of the CLI itself use copier_cli.
    """
    from copier import run_copy

    def _render(src: Path, dst: Path, vcs_ref: str | None = "HEAD", **answers: Any) -> Path:
        run_copy(
            str(src),
            str(dst),
            data=answers,
            defaults=True,
            vcs_ref=vcs_ref,
            quiet=True,
            unsafe=False,
        )
        return dst

    return _render


@pytest.fixture(scope="session")
def template_datakit(tmp_path_factory, template_repo, render, layer1_image) -> Path:
    """The template's datakit `image-test-kit`, rendered once per session."""
    project = tmp_path_factory.mktemp("datakit") / TEMPLATE_DATAKIT
    return render(
        template_repo,
        project,
        datakit_name=TEMPLATE_DATAKIT,
        layer1_image=layer1_image,
        runtime_images=True,
        kerberos=False,  # the Kerberos stack has its own datakit (test_kerberos_end_to_end)
    )


@pytest.fixture(scope="session")
def template_datakit_image(template_datakit: Path, docker_cli: str, docker_client) -> Iterator[str]:
    """The datakit built FROM the Layer-1 image by its ONBUILD triggers, as astro does."""
    tag = build_datakit(docker_cli, template_datakit, f"adp-datakit-test:{uuid.uuid4().hex[:12]}")
    yield tag
    docker_client.images.remove(tag, force=True)


def _stack(request, shape: str) -> Iterator[AirflowStack]:
    datakit = request.getfixturevalue("template_datakit")
    image = request.getfixturevalue("template_datakit_image")
    client = request.getfixturevalue("docker_client")
    state = request.getfixturevalue("tmp_path_factory").mktemp(f"stack-{shape}")
    with running_airflow_stack(datakit, image, state, client=client, shape=shape) as stack:
        yield stack


@pytest.fixture(scope="session")
def airflow_stack(request) -> Iterator[AirflowStack]:
    """The template datakit in the newer Astro CLI's shape (what `adp dev start` runs)."""
    yield from _stack(request, "astro")


@pytest.fixture(scope="module")
def airflow_stack_v1(request) -> Iterator[AirflowStack]:
    """The template datakit in astro-cli v1's shape (named volume airflow_logs). Module
    scope: only the image test needs it, and an idle stack costs the machine CPU."""
    yield from _stack(request, "astro-v1")
