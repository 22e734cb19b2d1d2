"""The Astro-shaped Airflow stack of a datakit image, for tests: what `astro dev start`
(or `adp dev start`) runs, started with pytest-docker and driven through the REST API.

The compose file is the one users run: rendered by `adp.dev` (both shapes: "astro", the
newer Astro CLI, and "astro-v1", with astro-cli v1's `airflow_logs` volume). Ports are
picked by Docker on 127.0.0.1, the project name and state folder are the test's own, so
a stack never touches a developer's. pytest-docker runs `up -d` and `down -v` with the
compose command `adp.dev.compose.compose_command()` finds (Debian's docker-compose here),
IMAGE_POSTGRES set to the metadata database's image as under `adp dev`.
"""

from __future__ import annotations

import contextlib
import shlex
import subprocess
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
from adp.airflow_api import AirflowClient, unhealthy
from adp.dev.compose import SERVICE_NAMES, Shape, compose_command
from adp.dev.postgres import resolve_postgres_image
from adp.dev.project import Datakit
from adp.dev.settings import DevSettings
from adp.dev.stack import Stack
from pytest_docker.plugin import Services, get_docker_services

AIRFLOW_SERVICES = ("scheduler", "dag-processor", "api-server", "triggerer")


@dataclass
class AirflowStack:
    """A running stack: its REST client, its containers, and the Stack that rendered it."""

    stack: Stack
    services: Services
    url: str
    api: AirflowClient
    client: docker.DockerClient

    def container(self, service: str) -> Any:
        return self.stack.containers(self.client)[service]

    def exec(self, service: str, *command: str, user: str | None = None) -> tuple[int, str]:
        """Run `command` in the service's container; (exit code, stdout + stderr)."""
        code, output = self.container(service).exec_run(list(command), user=user or "")
        return int(code), output.decode(errors="replace")

    def logs(self, service: str, tail: int = 60) -> str:
        return self.stack.service_logs(self.client, service, tail=tail)

    def all_logs(self, tail: int = 30) -> str:
        return "\n".join(f"--- {s}\n{self.logs(s, tail)}" for s in SERVICE_NAMES)


@contextmanager
def running_airflow_stack(
    datakit_dir: Path,
    image: str,
    state_dir: Path,
    *,
    client: docker.DockerClient,
    shape: Shape = "astro",
    extra_files: Sequence[Path] = (),
    timeout: float = 300,
    login: tuple[str, str] | None = None,
) -> Iterator[AirflowStack]:
    """Start the stack of `image` (built from the datakit at `datakit_dir`), wait until
    Airflow's health endpoint reports every component healthy, yield it, remove it (and
    its volumes) afterwards. `login`: the user whose token `stack.api` uses, for a stack
    whose auth manager has users (default: the local stack's everyone-is-admin token)."""
    datakit = Datakit(datakit_dir.resolve(), f"{datakit_dir.name}-{uuid.uuid4().hex[:6]}")
    settings = DevSettings(state_dir=state_dir)
    # api_port/postgres_port 0: Docker picks free ports on 127.0.0.1.
    stack = Stack(
        datakit,
        settings,
        shape=shape,
        api_port=0,
        postgres_port=0,
        image=image,
        extra_files=list(extra_files),
    )
    postgres = resolve_postgres_image(
        client, None, settings.image_python, settings.ca_bundle, say=lambda _: None
    )
    stack.render(postgres)
    files = [str(f) for f in stack.files()]
    with contextlib.ExitStack() as cleanup:
        try:
            services = cleanup.enter_context(
                get_docker_services(
                    pytest_docker_command(stack), files, stack.project, ["up -d"], ["down -v"]
                )
            )
        except Exception:
            _remove(stack)  # pytest-docker cleans up after the tests, not when `up` fails
            raise
        url = f"http://127.0.0.1:{services.port_for('api-server', 8080)}"
        api = cleanup.enter_context(AirflowClient(url, login=login))
        running = AirflowStack(stack, services, url, api, client)

        def healthy() -> bool:
            try:
                return not unhealthy(api.health())
            except Exception:  # not listening yet
                return False

        try:
            services.wait_until_responsive(healthy, timeout=timeout, pause=1)
        except Exception as exc:
            raise AssertionError(
                f"stack {stack.project} not healthy after {timeout} s ({exc}):\n"
                f"{running.all_logs()}"
            ) from None
        yield running


def release_store_override(
    store: Path, env: str = "dev", refresh_interval: int = 3, mounts: Sequence[str] = ()
) -> dict[str, Any]:
    """A compose override serving `env` of the local release store `store` as the platform's
    bundle (`adp dags bundle-config`'s value) to every Airflow service, with `store` (and any
    `mounts`) mounted at the same path. Makes the folders the dag-processor (user astro)
    writes: `store/<env>/_snapshots/`."""
    from adp.bundles.config import SETTING, bundle_entry, config_list

    for folder in (store, store / env, store / env / "_snapshots"):
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o777)
    value = config_list(bundle_entry(env, str(store), refresh_interval=refresh_interval))
    volumes = [f"{store}:{store}", *mounts]
    return {
        "services": {
            service: {"environment": {SETTING: value}, "volumes": volumes}
            for service in AIRFLOW_SERVICES
        }
    }


def pytest_docker_command(stack: Stack) -> str:
    """The compose command pytest-docker runs (through a shell) for `stack`: compose with
    the stack's project folder and, as every compose command adp dev runs, IMAGE_POSTGRES
    set to the metadata database's image (`Stack.interpolation`)."""
    assignments = [f"{name}={value}" for name, value in stack.interpolation().items()]
    return shlex.join(
        ["env", *assignments, *compose_command(), "--project-directory", str(stack.datakit.root)]
    )


def _remove(stack: Stack) -> None:
    """`down -v` without checking: the stack may be half created, or gone already."""
    subprocess.run(
        stack.compose_argv("down", "-v", "--remove-orphans"),
        capture_output=True,
        env=stack.compose_env(),
        check=False,
    )
