"""The compose stack with the real Docker engine: `make platform-start/status/stop`.

Uses a throw-away project and volume name, so it never touches a developer's running
platform (`platform` / `platform_kerberos_cache`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from adp import facts
from adp_test_servers.kdc import Realm
from adp_test_servers.platform_stack import (
    host_cache,
    make_platform,
    sharer_container,
    stack_containers,
    stack_env,
    wait_health,
)

pytestmark = pytest.mark.docker

HERE = Path(__file__).resolve().parent.parent
SHARER_IMAGE = "adp-kerberos-ticket-sharer:latest"


def docker_client():  # type: ignore[no-untyped-def]
    docker = pytest.importorskip("docker", reason="pip install docker (the Docker SDK)")
    try:
        client = docker.from_env()
        client.ping()
    except Exception as exc:  # no engine: these tests need one (CI has it)
        pytest.fail(f"Docker engine not reachable: {exc}")
    return client


def make(target: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return make_platform(HERE, target, env, timeout=600)


@pytest.fixture
def stack(realm: Realm, workdir: Path) -> Iterator[dict[str, str]]:
    """Environment for `make platform-*` with a fresh project, volume and host cache."""
    host_dir = workdir / "host-tmp"
    host_dir.mkdir()
    env = stack_env(
        realm, host_dir, "adptest", SHARER_HEALTH_INTERVAL="1s", SHARER_MIN_REMAINING="5"
    )
    yield env
    make_platform(HERE, "platform-clean", env, timeout=120)


def use_volume(client, env: dict[str, str], realm: Realm, command: str, user: str = "50000:0"):  # type: ignore[no-untyped-def]
    """Run `command` in a container that mounts the volume read-only, as a datakit does."""
    return client.containers.run(
        SHARER_IMAGE,
        entrypoint=["sh", "-c", command],
        command=[],
        user=user,
        network_mode="host",
        environment={
            "KRB5CCNAME": "FILE:/krb5/cache/krb5cc",
            "KRB5_CONFIG": "/krb5/conf/krb5.conf",
        },
        volumes={
            env["KERBEROS_CACHE_VOLUME"]: {"bind": "/krb5/cache", "mode": "ro"},
            str(realm.krb5_conf.parent): {"bind": "/krb5/conf", "mode": "ro"},
        },
        remove=True,
        stdout=True,
        stderr=True,
    ).decode()


def test_platform_start_status_stop_with_a_real_engine(realm: Realm, stack: dict[str, str]) -> None:
    if shutil.which("docker-compose") is None and shutil.which("docker") is None:
        pytest.fail("neither docker-compose nor docker is installed")
    client = docker_client()
    cache = host_cache(stack)
    realm.kinit("alice@ADP.TEST", f"FILE:{cache}", lifetime="1h", renewable="2h")
    os.chown(cache, 1000, 1000)  # the host user's own 0600 cache, not root's

    # A datakit may have created the volume first: Docker then copies the Layer-1 image's
    # /krb5/cache (astro, 0750) into it. The sharer must take it over with CAP_CHOWN only.
    client.volumes.create(stack["KERBEROS_CACHE_VOLUME"])
    client.containers.run(
        SHARER_IMAGE,
        entrypoint=["sh", "-c", "chown 50000:0 /krb5/cache && chmod 0750 /krb5/cache"],
        command=[],
        volumes={stack["KERBEROS_CACHE_VOLUME"]: {"bind": "/krb5/cache", "mode": "rw"}},
        remove=True,
    )

    started = make("platform-start", stack)
    assert started.returncode == 0, started.stdout + started.stderr
    container = sharer_container(client, stack)
    wait_health(container, "healthy")

    status = make("platform-status", stack)
    assert status.returncode == 0, status.stdout + status.stderr
    assert "(healthy)" in status.stdout
    assert "principal:   alice@ADP.TEST" in status.stdout and "last share:" in status.stdout

    volume = client.volumes.get(stack["KERBEROS_CACHE_VOLUME"])
    assert volume.name == stack["KERBEROS_CACHE_VOLUME"]
    # The datakit user authenticates with the shared copy, which it cannot change.
    out = use_volume(
        client,
        stack,
        realm,
        "klist && kvno host/localhost && ls -ln /krb5/cache/krb5cc; "
        "touch /krb5/cache/x 2>&1 || echo READ-ONLY",
    )
    assert "Default principal: alice@ADP.TEST" in out and "kvno = " in out
    assert " 50000 0 " in out and out.count("-r--------") == 1
    assert "READ-ONLY" in out
    # Nobody else can read it.
    other = use_volume(client, stack, realm, "cat /krb5/cache/krb5cc 2>&1 || true", user="1234:0")
    assert "Permission denied" in other, other

    # A new kinit on the host reaches the volume within seconds.
    time.sleep(1.1)
    realm.kinit("bob@ADP.TEST", f"FILE:{cache}", lifetime="1h")
    deadline = time.monotonic() + 15
    while "bob@ADP.TEST" not in use_volume(client, stack, realm, "klist 2>&1 || true"):
        assert time.monotonic() < deadline, container.logs().decode()
        time.sleep(0.5)
    logs = container.logs().decode()
    assert "shared ticket for bob@ADP.TEST (copied from host)" in logs

    # kdestroy on the host: the shared copy goes, health turns, and the message says why.
    realm.run("kdestroy", ccache=f"FILE:{cache}")
    last = wait_health(container, "unhealthy", timeout=30)
    assert "run on the host: kinit bob@ADP.TEST" in last, last

    stopped = make("platform-stop", stack)
    assert stopped.returncode == 0, stopped.stderr
    assert not stack_containers(client, stack)
    client.volumes.get(stack["KERBEROS_CACHE_VOLUME"])  # the volume outlives platform-stop


def test_compose_file_is_version_less_and_names_the_volume() -> None:
    text = (HERE / "docker-compose.yml").read_text()
    assert not any(line.startswith("version:") for line in text.splitlines())
    assert "name: ${KERBEROS_CACHE_VOLUME:-platform_kerberos_cache}" in text
    config = subprocess.run(
        ["docker-compose", "config"],
        cwd=HERE,
        env=dict(
            os.environ,
            HOST_KRB5_CACHE_DIR="/tmp",
            HOST_KRB5CCNAME="FILE:/tmp/krb5cc_0",
            IMAGE_PYTHON=facts.load().IMAGE_PYTHON,
            PLATFORM_VERSION=facts.load().PLATFORM_VERSION,
        ),
        capture_output=True,
        text=True,
        check=False,
    )
    if config.returncode == 127:
        pytest.skip("docker-compose not installed")
    assert config.returncode == 0, config.stderr
    assert "name: platform_kerberos_cache" in config.stdout
    assert "healthcheck:" in config.stdout


def test_every_compose_variable_is_documented_in_env_example() -> None:
    import re

    compose = (HERE / "docker-compose.yml").read_text()
    documented = (HERE / ".env.example").read_text()
    variables = set(re.findall(r"\$\{([A-Z0-9_]+)", compose))
    assert variables, "no variables found"
    missing = sorted(v for v in variables if f"{v}=" not in documented)
    assert not missing, f"not documented in .env.example: {missing}"
