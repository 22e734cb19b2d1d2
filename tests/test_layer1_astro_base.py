"""FLAVOR=astro: Layer 1 installs on the base image's own Airflow and Python, never changes
them, and refuses a base that carries other versions than the fork pins.

No Astronomer registry is reachable here, so the base is a stand-in built locally the way
the oss runtime is (the runtime's labels, the astro user, the install-* helpers) but on
Debian trixie's Python 3.13 with the Airflow release before the pinned one: another Airflow
patch release and another Python than this repository pins. The fork that builds on it
pins those two (facts.env) and resolves its constraints for them, as
docs/how-to/use-astro-runtime.md says; the unchanged repository must refuse it.
"""

from __future__ import annotations

import contextlib
import re
import shutil
from pathlib import Path

import docker
import pytest
from adp import facts
from adp_test_support import (
    REPO,
    build_env,
    buildkit_docker,
    copy_tree,
    labels,
    previous_release,
    release_before,
    run,
    run_in,
)

pytestmark = [pytest.mark.docker, pytest.mark.slow]

MAKE = shutil.which("make") or "make"
STANDIN_PYTHON = "3.13"
STANDIN_SUITE = "trixie"
STANDIN_DEBIAN = f"adp-debian-python:{STANDIN_SUITE}"


def set_facts(tree: Path, **values: str) -> None:
    path = tree / "facts.env"
    text = path.read_text()
    for key, value in values.items():
        text, count = re.subn(rf"(?m)^{key}=.*$", f"{key}={value}", text)
        assert count == 1, key
    path.write_text(text)


@pytest.fixture(scope="module")
def standin_fork(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A fork that pins the stand-in's Airflow and Python, its constraints resolved for them."""
    tree = tmp_path_factory.mktemp("astro-fork") / "fork"
    copy_tree(tree)
    airflow = previous_release()
    set_facts(tree, AIRFLOW_VERSION=airflow, PYTHON_VERSION=STANDIN_PYTHON)
    run([MAKE, "-s", "-C", str(tree / "layer1-base-image"), "constraints"], cwd=tree)
    constraints = (tree / facts.load().AIRFLOW_CONSTRAINTS).read_text()
    assert constraints.startswith(f"# apache-airflow {airflow}, Python {STANDIN_PYTHON}:")
    return tree, airflow


@pytest.fixture(scope="module")
def standin_base(docker_client: docker.DockerClient, standin_fork: tuple[Path, str]):
    """An Astro-Runtime-shaped -base image: Airflow <previous release> on Python 3.13, and,
    like Astronomer's runtime, its own version of a package the platform pins too (pytest,
    one release before the platform's pin)."""
    tree, airflow = standin_fork
    tag = f"adp-test-astro-standin:{airflow}-python-{STANDIN_PYTHON}"
    run(
        [MAKE, "-C", str(tree / "layer1-base-image"), "runtime"],
        env=build_env(
            IMAGE_PYTHON=STANDIN_DEBIAN, DEBIAN_SUITE=STANDIN_SUITE, RUNTIME_IMAGE=f"{tag}-raw"
        ),
    )
    own_pytest = release_before("pytest", platform_pin(tree, "pytest"))
    dockerfile = (
        f"FROM {tag}-raw\nUSER root\n"
        f'RUN adp-pip-install "pytest=={own_pytest}" && adp-freeze-constraints\nUSER astro\n'
    )
    run([buildkit_docker(), "build", "-q", "-t", tag, "-"], input=dockerfile)
    yield tag, own_pytest
    for name in (tag, f"{tag}-raw"):
        with contextlib.suppress(docker.errors.ImageNotFound):
            docker_client.images.remove(name, force=True)


def platform_pin(tree: Path, package: str) -> str:
    constraints = (tree / facts.load().AIRFLOW_CONSTRAINTS).read_text()
    return re.search(rf"(?m)^{package}==(\S+)$", constraints).group(1)


def versions_in(client: docker.DockerClient, image: str) -> str:
    ran = run_in(
        client,
        image,
        "python -c 'import sys, airflow"
        '; print(airflow.__version__, "%d.%d" % sys.version_info[:2])\'',
    )
    assert ran.exit_code == 0, ran.output
    return ran.output.strip().splitlines()[-1]


def frozen(client: docker.DockerClient, image: str) -> dict[str, str]:
    ran = run_in(client, image, 'uv pip freeze --python "$(command -v python)" 2>/dev/null')
    assert ran.exit_code == 0, ran.output
    pins = dict(line.split("==", 1) for line in ran.output.splitlines() if "==" in line)
    assert "apache-airflow" in pins, ran.output
    return pins


def remove_layer1_tags(client: docker.DockerClient, repository: str) -> list[str]:
    """Remove the two tags `make build` gives Layer 1; returns those that existed."""
    removed = []
    for name in (f"{repository}:latest", f"{repository}:{facts.load().PLATFORM_VERSION}"):
        with contextlib.suppress(docker.errors.ImageNotFound):
            client.images.remove(name, force=True)
            removed.append(name)
    return removed


def test_a_base_with_other_versions_than_the_fork_pins_is_refused(
    docker_client: docker.DockerClient,
    standin_fork: tuple[Path, str],
    standin_base: tuple[str, str],
) -> None:
    _, airflow = standin_fork
    base, _ = standin_base
    pinned = facts.load()
    tag = "adp-test-refused-layer1"
    result = run(
        [MAKE, "-C", str(REPO / "layer1-base-image"), "build"],
        env=build_env(FLAVOR="astro", IMAGE_ASTRONOMER=base, LAYER1_IMAGE=tag),
        check=False,
        timeout=300,
    )
    assert result.returncode != 0
    message = " ".join(result.stderr.split())
    assert (
        f"IMAGE_ASTRONOMER={base} carries Apache Airflow {airflow} on Python "
        f"{STANDIN_PYTHON}, but this fork pins Airflow {pinned.AIRFLOW_VERSION} on Python "
        f"{pinned.PYTHON_VERSION}" in message
    ), result.stderr
    assert f"set AIRFLOW_VERSION={airflow} and PYTHON_VERSION={STANDIN_PYTHON}" in message
    assert "building" not in result.stdout, "refused only after starting the build"
    built = remove_layer1_tags(docker_client, tag)
    assert not built, f"refused, yet built {built}"


def test_layer1_builds_on_the_base_and_keeps_its_airflow_and_python(
    docker_client: docker.DockerClient,
    standin_fork: tuple[Path, str],
    standin_base: tuple[str, str],
) -> None:
    tree, airflow = standin_fork
    base, own_pytest = standin_base
    tag = "adp-test-layer1-on-standin"
    try:
        run(
            [MAKE, "-C", str(tree / "layer1-base-image"), "build"],
            env=build_env(FLAVOR="astro", IMAGE_ASTRONOMER=base, LAYER1_IMAGE=tag),
        )
        image = f"{tag}:latest"
        assert versions_in(docker_client, image) == f"{airflow} {STANDIN_PYTHON}"
        found = labels(docker_client, image, "io.adp.")
        assert found["io.adp.base.image"] == base, found
        assert (found["io.adp.airflow.version"], found["io.adp.python.version"]) == (
            airflow,
            STANDIN_PYTHON,
        ), found
        in_base, layer1 = frozen(docker_client, base), frozen(docker_client, image)
        assert in_base["pytest"] == own_pytest, in_base
        moved = {
            name: (version, layer1.get(name))
            for name, version in in_base.items()
            if layer1.get(name) != version and name not in {"pip", "setuptools", "wheel"}
        }
        assert not moved, f"Layer 1 changed the base's packages: {moved}"
        assert "apache-airflow-providers-postgres" in layer1.keys() - in_base.keys()
        ran = run_in(
            docker_client, image, "python -c 'import sqlmodel_framework, adp; print(\"ok\")'"
        )
        assert ran.exit_code == 0 and ran.output.strip().endswith("ok"), ran.output
    finally:
        remove_layer1_tags(docker_client, tag)
