"""A throw-away copy of the platform's compose stack (`make -C platform-bootstrap platform-*`).

Each stack gets its own compose project, cache volume and host ticket cache, so a test or
benchmark never touches a developer's running platform (`platform` /
`platform_kerberos_cache`). Docker objects are used through the Docker SDK's containers,
which callers pass in: this package itself imports only the standard library.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

from adp_test_servers.kdc import Realm


def stack_env(realm: Realm, host_dir: Path, prefix: str, **settings: str) -> dict[str, str]:
    """The environment for `make platform-*`: `realm`'s client settings, a compose project
    `<prefix><random>`, its own volume, the host cache `FILE:<host_dir>/krb5cc_1000`, and
    any SHARER_* `settings`."""
    tag = uuid.uuid4().hex[:8]
    env = realm.env()
    env.update(
        COMPOSE_PROJECT_NAME=f"{prefix}{tag}",
        KERBEROS_CACHE_VOLUME=f"{prefix}_{tag}_kerberos_cache",
        HOST_KRB5CCNAME=f"FILE:{host_dir}/krb5cc_1000",
        HOST_KRB5_CONFIG=str(realm.krb5_conf),
        **settings,
    )
    return env


def host_cache(env: dict[str, str]) -> Path:
    """The host ticket cache file the stack's sharer copies from."""
    return Path(env["HOST_KRB5CCNAME"].removeprefix("FILE:"))


def make_platform(
    bootstrap: Path, target: str, env: dict[str, str], timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    """`make -C <bootstrap> <target>` with the stack's environment; output captured."""
    return subprocess.run(
        ["make", "-C", str(bootstrap), "--no-print-directory", target],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def stack_containers(client: Any, env: dict[str, str]) -> list[Any]:
    """Every container (running or not) of the stack's compose project."""
    label = f"com.docker.compose.project={env['COMPOSE_PROJECT_NAME']}"
    return list(client.containers.list(all=True, filters={"label": label}))


def sharer_container(client: Any, env: dict[str, str]) -> Any:
    """The stack's one container: the ticket sharer."""
    found = stack_containers(client, env)
    assert len(found) == 1, found
    return found[0]


def wait_health(container: Any, wanted: str, timeout: float = 60) -> str:
    """Wait until Docker's health status of `container` is `wanted`; return the output of
    its latest health check. Fails with the container's log after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        container.reload()
        health = container.attrs["State"].get("Health", {})
        if health.get("Status") == wanted:
            return str(health["Log"][-1]["Output"]) if health.get("Log") else ""
        if time.monotonic() > deadline:
            raise AssertionError(
                f"health {health.get('Status')!r} != {wanted!r}:\n{container.logs().decode()}"
            )
        time.sleep(0.5)
