"""Start, inspect and stop one datakit's local stack (what `adp dev` and tests drive).

Containers are found through compose's own labels (`com.docker.compose.project`), with the
Docker SDK; builds go through a BuildKit-capable docker client; everything else through the
compose command, on the rendered file plus the datakit's override, with IMAGE_POSTGRES set to
the metadata database's image (`Stack.compose_env`): an override's own PostgreSQL service,
`image: ${IMAGE_POSTGRES:-postgres:16}`, runs the image the stack runs (under `astro dev
start`, its default or the user's IMAGE_POSTGRES).
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import docker.errors
import httpx
import yaml

from adp.airflow_api import AirflowApiError, AirflowClient, DagRun, unhealthy
from adp.dev import airflow_settings, compose, secrets
from adp.dev.errors import DevError
from adp.dev.ports import require_free
from adp.dev.postgres import resolve_postgres_image
from adp.dev.project import Datakit
from adp.dev.settings import DevSettings, env_name
from adp.docker_cli import NoBuildKitClient, buildkit_client

Say = Callable[[str], Any]
COMPOSE_FILE = "docker-compose.yml"


def _quiet(_: str) -> None:
    return None


@dataclass
class Stack:
    """One datakit's stack: its names, files and containers."""

    datakit: Datakit
    settings: DevSettings
    shape: compose.Shape = "astro"
    api_port: int | None = None
    postgres_port: int | None = None
    image: str | None = None
    extra_files: list[Path] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.api_port is None:
            self.api_port = self.settings.api_port
        if self.postgres_port is None:
            self.postgres_port = self.settings.postgres_port
        if self.image is None:
            self.image = self.datakit.image

    @property
    def project(self) -> str:
        return self.datakit.compose_project

    @property
    def state_dir(self) -> Path:
        return self.settings.stack_dir(self.project)

    @property
    def compose_file(self) -> Path:
        return self.state_dir / COMPOSE_FILE

    def files(self) -> list[Path]:
        """The rendered file, the datakit's override, then any extra files (tests)."""
        override = self.datakit.override_file
        return [self.compose_file, *([override] if override else []), *self.extra_files]

    def compose_argv(self, *args: str) -> list[str]:
        """One compose command on this stack's files; run it with env=compose_env()."""
        return [
            *compose.compose_command(),
            *compose.compose_args(self.project, self.datakit.root, self.files()),
            *args,
        ]

    def postgres_image(self) -> str:
        """The metadata database's image, read back from the rendered compose file."""
        try:
            data = yaml.safe_load(self.compose_file.read_text())
            image = data["services"]["postgres"]["image"]
        except FileNotFoundError:
            raise DevError(
                f"no stack has been started for {self.datakit.root} (no {self.compose_file}); "
                "run: adp dev start"
            ) from None
        except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
            raise DevError(
                f"{self.compose_file} names no postgres image ({exc!r}): it is written by "
                "adp dev, not by hand; run adp dev start to write it again"
            ) from None
        return str(image)

    def interpolation(self) -> dict[str, str]:
        """The variables compose must see besides the caller's environment: IMAGE_POSTGRES,
        the metadata database's image, so that the override can say
        `image: ${IMAGE_POSTGRES:-postgres:16}` for a PostgreSQL of its own."""
        return {"IMAGE_POSTGRES": self.postgres_image()}

    def compose_env(self) -> dict[str, str]:
        """The environment of every compose command on this (rendered) stack."""
        return {**os.environ, **self.interpolation()}

    def compose(
        self, *args: str, capture: bool = True, timeout: float | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run one compose command on this stack; raise DevError with its output on failure."""
        if not self.compose_file.is_file():
            raise DevError(
                f"no stack has been started for {self.datakit.root} (no {self.compose_file}); "
                "run: adp dev start"
            )
        argv = self.compose_argv(*args)
        done = subprocess.run(
            argv,
            capture_output=capture,
            text=True,
            timeout=timeout,
            env=self.compose_env(),
            check=False,
        )
        if done.returncode != 0:
            output = ((done.stdout or "") + (done.stderr or ""))[-3000:]
            raise DevError(f"`{' '.join(args)}` failed for stack {self.project}:\n{output}")
        return done

    def render(self, postgres_image: str) -> Path:
        """Write the compose file (and the stack's secrets file, once)."""
        spec = compose.StackSpec(
            datakit_name=self.datakit.name,
            project_dir=self.datakit.root,
            image=str(self.image),
            postgres_image=postgres_image,
            secrets_file=secrets.ensure(self.state_dir),
            env_file=self.datakit.env_file,
            settings_file=self.datakit.settings_file,
            api_port=self.api_port or None,
            postgres_port=self.postgres_port or None,
            shape=self.shape,
        )
        return compose.write(spec, self.compose_file)

    def services(self) -> list[str]:
        """The stack's services, the datakit override's own included (`compose config
        --services`; no Docker engine needed)."""
        return sorted(self.compose("config", "--services").stdout.split())

    # -- containers ---------------------------------------------------------------
    def containers(self, client: docker.DockerClient) -> dict[str, Any]:
        """Service name -> container (running or not) of this stack."""
        found = client.containers.list(
            all=True, filters={"label": f"com.docker.compose.project={self.project}"}
        )
        return {c.labels.get("com.docker.compose.service", c.name or ""): c for c in found}

    def running(self, client: docker.DockerClient) -> bool:
        api = self.containers(client).get("api-server")
        return api is not None and api.status == "running"

    def api_url(self, client: docker.DockerClient) -> str:
        """http://localhost:<the host port the api-server publishes>."""
        api = self.containers(client).get("api-server")
        if api is None:
            raise DevError(f"stack {self.project} has no api-server container; adp dev start")
        api.reload()
        bindings = (api.attrs["NetworkSettings"]["Ports"] or {}).get("8080/tcp") or []
        if not bindings:
            raise DevError(f"the api-server of {self.project} publishes no port (not running?)")
        return f"http://localhost:{bindings[0]['HostPort']}"

    def service_logs(self, client: docker.DockerClient, service: str, tail: int = 40) -> str:
        container = self.containers(client).get(service)
        if container is None:
            return f"({service}: no container)"
        return container.logs(tail=tail).decode(errors="replace")


# -- start ------------------------------------------------------------------------
@dataclass
class StartReport:
    url: str
    steps: list[tuple[str, float]]
    settings_applied: dict[str, int] | None


def _timed(steps: list[tuple[str, float]], say: Say, name: str, started: float) -> None:
    seconds = time.monotonic() - started
    steps.append((name, seconds))
    say(f"{name}: {seconds:.1f} s")


def build_image(stack: Stack, say: Say = _quiet) -> None:
    """`docker build -t <image> <datakit>` with a BuildKit client: the ONBUILD triggers of
    the Layer-1 image install packages.txt and requirements.txt and copy the project in."""
    try:
        client = buildkit_client()
    except NoBuildKitClient as exc:
        raise DevError(str(exc)) from None
    env = {**os.environ, "DOCKER_BUILDKIT": "1"}
    done = subprocess.run(
        [client, "build", "-t", str(stack.image), str(stack.datakit.root)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-40:])
        raise DevError(f"building the datakit image {stack.image} failed:\n{tail}")


def _check_ports(stack: Stack) -> None:
    if stack.api_port:
        require_free(stack.api_port, "Airflow UI and API", env_name("api_port"), "--port")
    if stack.postgres_port:
        require_free(
            stack.postgres_port,
            "metadata database",
            env_name("postgres_port"),
            "--postgres-port",
        )


def _wait_ready(stack: Stack, client: docker.DockerClient, timeout: float) -> str:
    """Wait for Airflow's health endpoint to report every component healthy; fail fast
    with the log when the database migration fails."""
    deadline = time.monotonic() + timeout
    url: str | None = None
    last: object = "the api-server is not answering yet"
    while time.monotonic() < deadline:
        containers = stack.containers(client)
        migration = containers.get("db-migration")
        if migration is not None:
            migration.reload()
            state = migration.attrs["State"]
            if state["Status"] == "exited" and state["ExitCode"] != 0:
                raise DevError(
                    "`airflow db migrate` failed:\n" + stack.service_logs(client, "db-migration")
                )
        try:
            url = url or stack.api_url(client)
            with AirflowClient(url, timeout=5) as api:
                health = api.health()
            if not unhealthy(health):
                return url
            last = {k: (v or {}).get("status") for k, v in health.items()}
        except (DevError, AirflowApiError, httpx.HTTPError, OSError) as exc:
            last = exc  # the api-server is still starting
        time.sleep(1)
    logs = "\n".join(
        f"--- {service}\n{stack.service_logs(client, service, tail=15)}"
        for service in ("scheduler", "dag-processor", "api-server", "triggerer")
    )
    raise DevError(f"Airflow did not become healthy within {timeout:.0f} s ({last}).\n{logs}")


def start(
    stack: Stack,
    client: docker.DockerClient,
    *,
    build: bool = True,
    wait: bool = True,
    say: Say = _quiet,
) -> StartReport:
    """Build the datakit image, start the stack, wait until Airflow is healthy, import
    airflow_settings.yaml. Each step is timed."""
    steps: list[tuple[str, float]] = []
    settings_file = stack.datakit.settings_file
    settings = airflow_settings.load(settings_file) if settings_file else None
    if not stack.running(client):
        _check_ports(stack)
    if build:
        began = time.monotonic()
        build_image(stack, say)
        _timed(steps, say, f"built {stack.image}", began)
    began = time.monotonic()
    postgres_image = resolve_postgres_image(
        client,
        stack.settings.image_postgres,
        stack.settings.image_python,
        stack.settings.ca_bundle,
        say,
    )
    stack.render(postgres_image)
    stack.compose("up", "-d", "--remove-orphans")
    _timed(steps, say, f"started {stack.project} (postgres: {postgres_image})", began)
    url = stack.api_url(client)
    applied = None
    if wait:
        began = time.monotonic()
        url = _wait_ready(stack, client, stack.settings.start_timeout)
        _timed(
            steps, say, "Airflow healthy (metadatabase, scheduler, dag-processor, triggerer)", began
        )
        if settings is not None:
            with AirflowClient(url) as api:
                applied = airflow_settings.apply(api, settings)
    return StartReport(url, steps, applied)


def stop(stack: Stack, *, volumes: bool = False) -> None:
    """Remove the stack's containers and network; with volumes, its database too."""
    stack.compose("down", "--remove-orphans", *(["--volumes"] if volumes else []))


def status(stack: Stack, client: docker.DockerClient) -> dict[str, Any]:
    """Each service's container state and, when the api-server runs, Airflow's health."""
    services: dict[str, str] = {}
    for name, container in sorted(stack.containers(client).items()):
        container.reload()
        state = container.attrs["State"]
        text = state["Status"]
        if state["Status"] == "exited":
            text += f" ({state['ExitCode']})"
        services[name] = text
    report: dict[str, Any] = {
        "project": stack.project,
        "image": stack.image,
        "services": services,
    }
    if stack.running(client):
        url = stack.api_url(client)
        report["url"] = url
        try:
            with AirflowClient(url, timeout=5) as api:
                health = api.health()
            report["health"] = {k: (v or {}).get("status") for k, v in health.items()}
        except httpx.HTTPError as exc:  # the api-server may still be starting
            report["health"] = {"error": str(exc)}
    return report


def run_pytest(stack: Stack, client: docker.DockerClient, args: list[str]) -> tuple[int, str]:
    """`python -m pytest ARGS` in a fresh container of the datakit image, with the project
    folders mounted as in the stack and no network: what `astro dev pytest` runs."""
    volumes = {
        str(stack.datakit.root / folder): {"bind": f"/usr/local/airflow/{folder}", "mode": "rw"}
        for folder in compose.PROJECT_MOUNTS
        if (stack.datakit.root / folder).is_dir()
    }
    try:
        container = client.containers.run(
            str(stack.image),
            ["python", "-m", "pytest", *args],
            detach=True,
            volumes=volumes,
            environment={"ASTRONOMER_ENVIRONMENT": "local"},
            network_mode="none",
        )
    except docker.errors.ImageNotFound:
        raise DevError(f"no image {stack.image}: run adp dev start first") from None
    try:
        code = int(container.wait()["StatusCode"])
        return code, container.logs().decode(errors="replace")
    finally:
        container.remove(force=True)


def require_service(stack: Stack, service: str) -> None:
    """Refuse a service the stack does not define (naming the ones it does); a stack never
    started is refused by Stack.compose ("run: adp dev start")."""
    services = stack.services()
    if service not in services:
        raise DevError(
            f"stack {stack.project} has no service {service!r}; its services: "
            f"{', '.join(services)} (a service of your own goes into the datakit's "
            "docker-compose.override.yml)"
        )


def exec_in(stack: Stack, client: docker.DockerClient, service: str, command: list[str]) -> int:
    """Run `command` in the running container of `service` with `compose exec -T` (no TTY,
    so it works in scripts and CI; standard input is passed on), its output straight to
    ours; returns the command's exit code."""
    container = stack.containers(client).get(service)
    state = "no container" if container is None else container.status
    if state != "running":
        raise DevError(
            f"service {service} of stack {stack.project} is not running ({state}); "
            "start the stack: adp dev start (adp dev status shows each service)"
        )
    code = subprocess.call(
        stack.compose_argv("exec", "-T", service, *command), env=stack.compose_env()
    )
    return code if code >= 0 else 128 - code  # killed by a signal: as a shell reports it


def run_dag(
    url: str, dag_id: str, timeout: float, conf: dict[str, Any] | None = None
) -> tuple[DagRun, list[dict[str, Any]]]:
    """Unpause and trigger `dag_id` through the REST API (`conf`: the run's conf), wait for
    the run to finish; returns the run and its task instances."""
    with AirflowClient(url) as api:
        api.wait_for_dag(dag_id, timeout=min(timeout, 120))
        api.unpause(dag_id)
        run = api.wait_for_run(api.trigger(dag_id, conf=conf), timeout=timeout)
        return run, api.task_instances(run)
