"""A credential given at build time (`--secret id=netrc`) reaches no layer, no history entry
and no image configuration."""

from __future__ import annotations

import importlib.util
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from adp.images import builder, discovery
from adp.images.config import ImageConfig, source_tree
from adp_test_servers.image_scan import scan_image_with_cli

RUNTIME_ROOT = source_tree().runtime_root

pytestmark = pytest.mark.docker


def test_build_secret_is_in_no_layer(
    docker_cli: str, base_image: str, test_config: ImageConfig, tmp_path: Path
) -> None:
    token = "adp-probe-" + os.urandom(12).hex()
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine index.adp-probe.invalid login probe password {token}\n")
    (runtime,) = discovery.select(discovery.discover(RUNTIME_ROOT), ["python-runner"])
    config = ImageConfig(
        registry="",
        repo=test_config.repo,
        version="secret-probe",
        image_python=test_config.image_python,
    )
    # --no-cache: the RUN steps that mount the secret really run with it in this build.
    options = builder.BuildOptions(
        no_cache=True, secrets=[f"id=netrc,src={netrc}"], log_dir=tmp_path / "logs"
    )
    result = builder.build_one(docker_cli, runtime, config, options)
    assert result.ok, result.error
    try:
        log = Path(result.log).read_text()
        assert "--mount=type=secret,id=netrc" in log  # the secret-mounting step ran
        assert token not in log

        # Positive control: the scan does find what the image does contain.
        hits = scan_image_with_cli(
            docker_cli, result.tag, [token.encode(), b"requests", b"secret-probe"]
        )
        assert hits[b"requests"], "scan found nothing at all: the scanner is broken"
        assert hits[b"secret-probe"], "the image config was not scanned"
        assert hits[token.encode()] == [], f"secret found in: {hits[token.encode()]}"

        history = subprocess.run(
            [docker_cli, "history", "--no-trunc", result.tag],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        inspect = subprocess.run(
            [docker_cli, "image", "inspect", result.tag], capture_output=True, text=True, check=True
        ).stdout
        assert token not in history and token not in inspect
        assert "netrc" not in inspect
    finally:
        subprocess.run([docker_cli, "rmi", "-f", result.tag], capture_output=True, check=False)


@pytest.fixture
def private_index(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A password-protected package index (pypiserver) on 127.0.0.1 holding exactly what
    python-runner's build downloads: its locked wheels and the pinned uv."""
    if not (importlib.util.find_spec("pypiserver") and importlib.util.find_spec("passlib")):
        pytest.skip("needs pypiserver and passlib (pip install pypiserver passlib)")
    from passlib.apache import HtpasswdFile

    (runtime,) = discovery.select(discovery.discover(RUNTIME_ROOT), ["python-runner"])
    uv_version = re.search(r"ARG UV_VERSION=(\S+)", builder.dockerfile_for(runtime)).group(1)
    packages = tmp_path / "packages"
    env = {**os.environ, "PIP_CERT": os.environ.get("CA_BUNDLE", "")}
    if not env["PIP_CERT"]:
        env.pop("PIP_CERT")
    for spec in (["-r", str(runtime.lock)], [f"uv=={uv_version}"]):
        fetch = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
             "--only-binary", ":all:", "--dest", str(packages), *spec],
            env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert fetch.returncode == 0, fetch.stderr
    token = "adp-index-" + os.urandom(12).hex()
    htpasswd = HtpasswdFile(str(tmp_path / "htpasswd"), new=True)
    htpasswd.set_password("builder", token)
    htpasswd.save()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "pypiserver", "run", "--host", "127.0.0.1", "--port", str(port),
         "--passwords", str(tmp_path / "htpasswd"), "--authenticate", "download,list,update",
         str(packages)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/simple/"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(url, timeout=1)
            except urllib.error.HTTPError as exc:
                if exc.code == 401:  # up, and asking for credentials
                    break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("pypiserver did not start")
        yield url, token
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_index_credentials_are_used_and_leave_no_trace(
    docker_cli: str, base_image: str, test_config: ImageConfig, private_index, tmp_path: Path
) -> None:
    """Build python-runner from a private index that demands a password: the netrc secret
    is what makes the build succeed, and the password is then in no layer."""
    url, token = private_index
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine 127.0.0.1 login builder password {token}\n")
    (runtime,) = discovery.select(discovery.discover(RUNTIME_ROOT), ["python-runner"])
    config = ImageConfig(
        registry="",
        repo=test_config.repo,
        version="private-index",
        image_python=test_config.image_python,
        uv_default_index=url,
    )

    def build(secrets: list[str], logs: str) -> builder.BuildResult:
        options = builder.BuildOptions(
            no_cache=True,
            secrets=secrets,
            log_dir=tmp_path / logs,
            extra_args=["--network", "host"],  # the index listens on the host's loopback
        )
        return builder.build_one(docker_cli, runtime, config, options)

    # Control: without the secret the index refuses, and the build fails.
    refused = build([], "refused")
    assert not refused.ok, "the index did not ask for credentials: the test proves nothing"
    assert "401" in Path(refused.log).read_text(), refused.error

    result = build([f"id=netrc,src={netrc}"], "with-secret")
    assert result.ok, result.error
    try:
        hits = scan_image_with_cli(docker_cli, result.tag, [token.encode(), b"requests"])
        assert hits[b"requests"], "scan found nothing at all: the scanner is broken"
        assert hits[token.encode()] == [], f"index password found in: {hits[token.encode()]}"
        for command in (["history", "--no-trunc"], ["image", "inspect"]):
            out = subprocess.run(
                [docker_cli, *command, result.tag], capture_output=True, text=True, check=True
            ).stdout
            assert token not in out
        assert token not in Path(result.log).read_text()
    finally:
        subprocess.run([docker_cli, "rmi", "-f", result.tag], capture_output=True, check=False)
