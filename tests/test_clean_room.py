"""Clean room: the README's Quickstart, verbatim, on a fresh Debian with nothing installed.

A container of the debootstrap base (IMAGE_PYTHON of facts.env) gets only what the README
lists as prerequisites (git, make; the machine's CA bundle, as a company's machines have
it), a fresh clone of this repository's committed HEAD, and the host's Docker socket.
Then the Quickstart's commands run as written: `make demo` whole (it must install its
Debian packages, its Docker client, the .venv, build the chain, run the datakit's Airflow
stack and its DAG), and `make test` narrowed with PYTEST_ARGS to a few fast tests of
every component, so that every install step of the test setup runs too. A missing
install step fails here, not on a user's machine.

The host's Docker engine resolves bind mounts on the host (FACTS: a clean-room container
that drives the host's engine), so the clone lives in a host folder mounted at the same
path inside the container, and the container shares the host's network to reach the
ports the demo stack publishes on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import time
from pathlib import Path

import docker
import pytest
from adp import facts
from adp.dev.project import Datakit
from adp_test_servers.ports import free_port
from adp_test_support import HOST_CA_BUNDLE, REPO, strip_ansi

pytestmark = [pytest.mark.docker, pytest.mark.slow]

BASE_IMAGE = facts.load().IMAGE_PYTHON
# A few fast tests of every component: what each needs installed is installed by then.
FAST_TESTS = " ".join(
    [
        "test-support/tests/test_ports.py",
        "test-support/tests/test_postgres.py",
        "test-support/tests/test_kdc.py",
        "platform-cli/tests/test_version.py",
        "platform-cli/tests/test_dev_compose.py",
        "sqlmodel-framework/tests/test_models.py",
        "platform-bootstrap/tests/test_ticket_cache.py",
        "tests/images/test_discovery.py",
        "tests/template/test_questions.py",
        "tests/template/test_render_matrix.py::test_ruff_clean",
    ]
)


def quickstart_commands(readme: Path) -> list[str]:
    """The commands of the README's Quickstart code block, comments stripped."""
    text = readme.read_text()
    section = text.split("## Quickstart", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.DOTALL)
    assert block, "README.md: the Quickstart has no ```bash block"
    commands = [line.split("#", 1)[0].strip() for line in block.group(1).splitlines()]
    return [c for c in commands if c]


def prerequisites(readme: Path) -> str:
    return readme.read_text().split("## Quickstart", 1)[1].split("```", 1)[0]


def test_the_readme_names_what_the_clean_room_installs() -> None:
    """The clean room installs git and make only: the README must say exactly that."""
    text = prerequisites(REPO / "README.md")
    for needed in ("Debian", "root", "git", "make", "python3"):
        assert needed in text, f"README Quickstart prerequisites must name {needed}"
    assert quickstart_commands(REPO / "README.md")[:2] == ["make demo", "make test"]


@pytest.fixture
def clean_room(docker_client: docker.DockerClient, layer1_image: str, tmp_path_factory):
    """A running container of the bare base, a host folder mounted at the same path."""
    docker_client.images.get(BASE_IMAGE)  # built by the layer1_image chain
    room = tmp_path_factory.mktemp("clean-room")
    room.chmod(0o755)
    container = docker_client.containers.run(
        BASE_IMAGE,
        ["sleep", "infinity"],
        detach=True,
        network_mode="host",
        volumes={
            "/var/run/docker.sock": {"bind": "/var/run/docker.sock", "mode": "rw"},
            str(REPO): {"bind": "/src", "mode": "ro"},
            str(room): {"bind": str(room), "mode": "rw"},
            str(HOST_CA_BUNDLE): {"bind": "/tmp/host-ca.crt", "mode": "ro"},
        },
        environment={"DEBIAN_FRONTEND": "noninteractive", "CI": "true", "LANG": "C.UTF-8"},
    )
    try:
        yield container, room
    finally:
        container.exec_run(["bash", "-c", f"cd {room}/repo && make demo-stop"])
        container.remove(force=True)
        project = Datakit(room / "repo" / "build" / "demo" / "demo-datakit", "demo-datakit")
        with contextlib.suppress(docker.errors.ImageNotFound):
            docker_client.images.remove(project.image, force=True)
        shutil.rmtree(room, ignore_errors=True)


def sh(container, script: str, what: str, timeout: float) -> str:
    """Run `script` with bash -e in the container; fail with its output when it fails."""
    started = time.monotonic()
    exec_id = container.client.api.exec_create(
        container.id, ["bash", "-ec", script], stdout=True, stderr=True
    )["Id"]
    output = container.client.api.exec_start(exec_id).decode(errors="replace")
    code = container.client.api.exec_inspect(exec_id)["ExitCode"]
    seconds = time.monotonic() - started
    print(f"clean room: {what}: exit {code} in {seconds:.0f} s")
    assert code == 0, f"{what} failed (exit {code}) in the clean room:\n{output[-8000:]}"
    assert seconds < timeout, f"{what} took {seconds:.0f} s (limit {timeout:.0f} s)"
    return strip_ansi(output)


def test_readme_quickstart_on_a_fresh_debian(clean_room) -> None:
    container, room = clean_room
    repo = room / "repo"
    # The README's prerequisites, and nothing else: git, make (python3 is in the base).
    sh(
        container,
        "cp /tmp/host-ca.crt /etc/ssl/certs/ca-certificates.crt\n"
        "cp /tmp/host-ca.crt /usr/local/share/ca-certificates/machine-bundle.crt\n"
        "apt-get update -qq && apt-get install -y -qq --no-install-recommends git make >/dev/null\n"
        "! command -v docker && ! command -v gcc && ! command -v uv\n"
        f"git clone -q /src {repo}",
        "prerequisites and a fresh clone",
        timeout=300,
    )
    api_port, pg_port = free_port(), free_port()
    settings = f"export ADP_DEV_API_PORT={api_port} ADP_DEV_POSTGRES_PORT={pg_port}"
    commands = quickstart_commands(repo / "README.md")
    demo = sh(container, f"{settings}; cd {repo}; {commands[0]}", commands[0], timeout=1200)
    installed = re.search(r"install-system-deps: apt-get install (.*)", demo)
    assert installed, "make demo installed no Debian package on a bare machine?"
    for package in ("docker.io", "docker-compose", "gcc", "libkrb5-dev", "debootstrap"):
        assert package in installed.group(1).split(), installed.group(0)
    assert "ensure-docker: Docker engine" in demo
    assert "Airflow of demo-datakit is up" in demo, demo[-3000:]
    assert "run manual__" in demo and "of demo_datakit_example: success" in demo, demo[-3000:]
    assert f"Airflow UI:  http://localhost:{api_port}" in demo
    assert "make demo-stop" in demo
    assert re.search(r"\d+ passed", demo.split("adp dev pytest")[-1]), demo[-2000:]

    tests = sh(
        container,
        f"{settings}; cd {repo}; PYTEST_ARGS='{FAST_TESTS} -p no:cacheprovider' {commands[1]}",
        commands[1],
        timeout=900,
    )
    assert re.search(r"\d+ passed", tests), tests[-3000:]
    assert " failed" not in tests and " error" not in tests, tests[-3000:]
