"""A throw-away S3-compatible server on loopback: moto's server (``moto[server]``, pinned with
hashes in requirements/moto-server.lock) on 127.0.0.1:<free port>.

    with running_s3(tmp_path) as s3:
        s3.create_bucket("releases")
        # s3.endpoint == "http://127.0.0.1:<port>"; s3.env: AWS_* variables for a client
        boto3.client("s3", endpoint_url=s3.endpoint)  # with s3.env in the environment

moto needs python-dateutil < 3 while the platform's constraints may pin another, so the
server runs from a venv of its own, created once per requirements file (and Python) under
``${XDG_CACHE_HOME:-~/.cache}/adp/test-servers/`` with the project's uv, from PyPI (or the
index uv is configured with), hashes required. State is in memory: gone when it stops.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from adp_test_servers import ServerUnavailable
from adp_test_servers.ports import free_port
from adp_test_servers.system import stop, wait_until_answers
from adp_test_servers.tools import project_tool

REQUIREMENTS = Path(__file__).parent / "requirements" / "moto-server.lock"
# Dummy credentials: moto accepts any; a client needs some to sign its requests.
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "adp-test",
    "AWS_SECRET_ACCESS_KEY": "adp-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "adp" / "test-servers"


def moto_venv(requirements: Path = REQUIREMENTS) -> Path:
    """The venv moto's server runs from, made once per requirements file and Python (under a
    lock, so parallel test runs share one); returns its folder."""
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()[:12]
    python = f"py{sys.version_info.major}.{sys.version_info.minor}"
    venv = cache_dir() / f"moto-{digest}-{python}"
    done = venv / ".adp-complete"
    if done.exists():
        return venv
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f"{venv.name}.lock", "a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        if done.exists():
            return venv
        uv = project_tool("uv")
        env = {**os.environ, "UV_SYSTEM_CERTS": "1"}
        steps = [
            [uv, "venv", "--quiet", "--clear", "--python", sys.executable, str(venv)],
            [uv, "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"),
             "--require-hashes", "-r", str(requirements)],
        ]  # fmt: skip
        for step in steps:
            answer = subprocess.run(step, capture_output=True, text=True, env=env, check=False)
            if answer.returncode != 0:
                raise ServerUnavailable(
                    f"could not install moto's server into {venv} ({' '.join(step[:3])} "
                    f"exited {answer.returncode}): {answer.stderr.strip()[-1500:]}; is PyPI (or "
                    "your index) reachable?"
                )
        done.write_text(requirements.read_text())
    return venv


@dataclass
class S3Server:
    endpoint: str  # http://127.0.0.1:<port>
    log: Path

    @property
    def env(self) -> dict[str, str]:
        """Variables for a client of this server (dummy credentials, its endpoint)."""
        return {**CREDENTIALS, "AWS_ENDPOINT_URL": self.endpoint}

    def create_bucket(self, name: str) -> None:
        """A new, empty bucket (moto takes an unsigned CreateBucket)."""
        request = urllib.request.Request(f"{self.endpoint}/{name}", method="PUT")
        urllib.request.urlopen(request, timeout=10).close()


@contextlib.contextmanager
def running_s3(directory: Path, timeout: float = 30) -> Iterator[S3Server]:
    """Start moto's server on a free loopback port (its log in ``directory``); yield it once it
    answers; stop it on exit."""
    venv = moto_venv()
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = directory / "moto-server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(venv / "bin" / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    endpoint = f"http://127.0.0.1:{port}"
    try:

        def answers() -> bool:
            urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=1).close()
            return True

        wait_until_answers(answers, process, f"moto server on {endpoint}", log, timeout)
        yield S3Server(endpoint, log)
    finally:
        stop(process)
