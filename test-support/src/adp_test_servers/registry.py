"""A throw-away image registry on loopback: Debian's docker-registry (the CNCF distribution
server) on 127.0.0.1:<free port>, its storage in a directory of the caller's.

    with running_registry(tmp_path) as address:          # "127.0.0.1:<port>"
        subprocess.run(["docker", "push", f"{address}/team/image:tag"], check=True)
        tags(address, "team/image")                        # ["tag"]

Plain HTTP needs no engine configuration: Docker trusts registries on 127.0.0.0/8 as
insecure by default. The registry runs as the caller, stops on exit, and keeps nothing
outside `directory`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from adp_test_servers import ServerUnavailable
from adp_test_servers.ports import free_port
from adp_test_servers.system import stop, wait_until_answers

_INSTALL = "install Debian's 'docker-registry' package (apt-get install docker-registry)"


@contextmanager
def running_registry(directory: Path, timeout: float = 15) -> Iterator[str]:
    """Start a registry storing into `directory`/data; yield its address `127.0.0.1:<port>`
    once `/v2/` answers; stop it on exit."""
    server = shutil.which("docker-registry")
    if server is None:
        raise ServerUnavailable(f"docker-registry is not on PATH: {_INSTALL}")
    directory.mkdir(parents=True, exist_ok=True)
    address = f"127.0.0.1:{free_port()}"
    config = directory / "registry.yml"
    config.write_text(
        "version: 0.1\n"
        "log: {level: warn}\n"
        f"storage: {{filesystem: {{rootdirectory: {directory / 'data'}}}}}\n"
        f"http: {{addr: '{address}'}}\n"
    )
    log = directory / "registry.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [server, "serve", str(config)], stdout=out, stderr=subprocess.STDOUT
        )
    try:

        def answers() -> bool:
            urllib.request.urlopen(f"http://{address}/v2/", timeout=1).close()
            return True

        wait_until_answers(answers, process, f"docker-registry on {address}", log, timeout)
        yield address
    finally:
        stop(process)


def tags(address: str, repository: str) -> list[str]:
    """The tags the registry at `address` holds for `repository` (empty when none, also when
    it has never heard of `repository`)."""
    try:
        with urllib.request.urlopen(
            f"http://{address}/v2/{repository}/tags/list", timeout=5
        ) as response:
            return json.load(response).get("tags") or []
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return []
        raise
