"""`adp dev exec SERVICE [COMMAND...]` on a real stack: the rendered compose file plus a
datakit override adding a service of its own (`warehouse`, `${IMAGE_POSTGRES:-...}`),
started alone (no Airflow).
The command runs through `compose exec -T` (no TTY), its arguments verbatim, its output
and exit code passed through; a service the stack lacks, one not running, and a stack never
started are each refused naming what to do."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import docker
import docker.errors
import pytest
from adp import facts
from adp.cli.main import app
from adp.dev.project import find_datakit
from adp.dev.settings import load_settings
from adp.dev.stack import Stack
from typer.testing import CliRunner

pytestmark = pytest.mark.docker

# The platform's Debian base (`make base`): here on every machine that builds the platform.
BOX_IMAGE = facts.load().IMAGE_PYTHON

# The documented pattern (docs/local-airflow.md): the override's own PostgreSQL runs the
# metadata database's image. The stack is rendered with the base image standing in for it,
# so `sleep` can keep the service up without a PostgreSQL image.
OVERRIDE = """\
services:
  warehouse:
    image: ${IMAGE_POSTGRES:-postgres:16}
    init: true
    command: ["sleep", "infinity"]
"""


def make_kit(root: Path, override: str | None = OVERRIDE) -> Path:
    for folder in ("dags", "plugins", "include", "tests"):
        (root / folder).mkdir(parents=True)
    (root / "Dockerfile").write_text("FROM layer1-airflow:latest\n")
    if override:
        (root / "docker-compose.override.yml").write_text(override)
    return root


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "state"
    monkeypatch.setenv("ADP_DEV_STATE_DIR", str(folder))
    monkeypatch.delenv("IMAGE_POSTGRES", raising=False)
    return folder


@pytest.fixture
def warehouse_kit(tmp_path: Path, state: Path) -> Iterator[Path]:
    """A datakit whose stack is rendered and whose override's `warehouse` runs alone."""
    try:
        docker.from_env().images.get(BOX_IMAGE)
    except docker.errors.ImageNotFound:
        pytest.fail(f"{BOX_IMAGE} (IMAGE_PYTHON) is not here: build it with `make base`")
    kit = make_kit(tmp_path / "customer-360")
    stack = Stack(find_datakit(kit), load_settings())
    stack.render(BOX_IMAGE)
    try:
        stack.compose("up", "-d", "warehouse", timeout=120)
        container = stack.containers(docker.from_env())["warehouse"]
        assert BOX_IMAGE in container.image.tags  # ${IMAGE_POSTGRES} was the stack's image
        yield kit
    finally:
        stack.compose("down", "--volumes", "--remove-orphans", "--timeout", "1", timeout=120)


def adp_exec(kit: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """`adp dev exec` as a user runs it: its own process, real file descriptors."""
    source = str(Path(facts.__file__).parents[1])  # the adp under test, for the child
    path = [source, *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path)}
    return subprocess.run(
        [sys.executable, "-m", "adp", "dev", "exec", "--project-dir", str(kit), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_the_command_gets_its_arguments_verbatim_and_its_exit_code_is_adps(
    warehouse_kit: Path,
) -> None:
    script = 'printf "%s\\n" "$@"; [ -t 1 ] || echo no-tty; exit 3'
    args = ["-U", "pagila", "-c", "SELECT 1", "-p", "5432", "--help"]
    done = adp_exec(warehouse_kit, "warehouse", "sh", "-c", script, "sh", *args)
    assert done.returncode == 3, done.stderr
    assert done.stdout.splitlines() == [*args, "no-tty"]


def test_a_double_dash_and_standard_input_work(warehouse_kit: Path) -> None:
    done = adp_exec(warehouse_kit, "warehouse", "--", "echo", "-n", "after dashes")
    assert (done.returncode, done.stdout) == (0, "after dashes"), done.stderr
    fed = adp_exec(warehouse_kit, "warehouse", stdin="echo from-stdin; exit 4\n")
    assert (fed.returncode, fed.stdout) == (4, "from-stdin\n"), fed.stderr


def adp(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, " ".join(result.output.split())


def test_a_service_not_in_the_stack_is_refused_listing_its_services(warehouse_kit: Path) -> None:
    code, out = adp("dev", "exec", "-p", str(warehouse_kit), "warehose", "true")
    assert code == 1
    assert "has no service 'warehose'; its services: " in out
    assert "api-server, dag-processor, db-migration, postgres, scheduler, triggerer, warehouse" in (
        out
    )


def test_a_service_not_running_is_named(warehouse_kit: Path) -> None:
    code, out = adp("dev", "exec", "-p", str(warehouse_kit), "scheduler", "true")
    assert code == 1
    assert "service scheduler of stack" in out and "is not running (no container)" in out
    assert "adp dev start" in out


def test_a_stack_never_started_says_so(tmp_path: Path, state: Path) -> None:
    kit = make_kit(tmp_path / "customer-360")
    code, out = adp("dev", "exec", "-p", str(kit), "warehouse", "true")
    assert code == 1
    assert "no stack has been started" in out and "run: adp dev start" in out
