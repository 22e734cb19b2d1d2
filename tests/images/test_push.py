"""`make images-push` against a real registry (Debian's docker-registry, the CNCF
distribution server) on 127.0.0.1: pushed tags appear in the registry, and a type that was
not built fails on its own without hiding the pushed one."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import adp
import pytest
from adp.images import builder, discovery
from adp.images.config import ImageConfig, source_tree

RUNTIME_ROOT = source_tree().runtime_root

pytestmark = pytest.mark.docker


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[str]:
    server = shutil.which("docker-registry")
    if server is None:
        pytest.skip("docker-registry is not installed (apt-get install docker-registry)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = tmp_path / "registry.yml"
    config.write_text(
        "version: 0.1\n"
        "log: {level: warn}\n"
        f"storage: {{filesystem: {{rootdirectory: {tmp_path / 'data'}}}}}\n"
        f"http: {{addr: '127.0.0.1:{port}'}}\n"
    )
    proc = subprocess.Popen(
        [server, "serve", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    address = f"127.0.0.1:{port}"
    try:
        for _ in range(50):
            try:
                urllib.request.urlopen(f"http://{address}/v2/", timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail(f"registry did not start: {proc.stderr.read1().decode()}")
        yield address
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def registry_tags(address: str, repo: str) -> list[str]:
    with urllib.request.urlopen(f"http://{address}/v2/{repo}/tags/list", timeout=5) as r:
        return json.load(r).get("tags") or []


def test_push_to_a_real_registry(
    registry: str, docker_cli: str, base_image: str, test_config: ImageConfig, tmp_path: Path
) -> None:
    config = ImageConfig(
        registry=f"{registry}/platform",
        repo=test_config.repo,
        version="push",
        image_python=test_config.image_python,
    )
    runtimes = discovery.select(discovery.discover(RUNTIME_ROOT), ["python-runner"])
    options = builder.BuildOptions(log_dir=tmp_path / "logs")
    (built,) = builder.build_all(runtimes, config, options, docker=docker_cli)
    assert built.ok, built.error
    assert built.tag == f"{registry}/platform/adp-runtime-test:python-runner-push"
    env = {
        **os.environ,
        # The adp this test imports, whatever the subprocess's folder.
        "PYTHONPATH": str(Path(adp.__file__).resolve().parents[1]),
        "RUNTIME_REGISTRY": config.registry,
        "RUNTIME_REPO": config.repo,
        "RUNTIME_VERSION": config.version,
    }
    try:
        out = subprocess.run(
            [sys.executable, "-m", "adp", "images", "push", "--json",
             "python-runner", "sqlserver-runner"],
            cwd=RUNTIME_ROOT, env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        results = {r["name"]: r for r in json.loads(out.stdout)}
        assert out.returncode == 1, out.stderr  # sqlserver-runner was not built with this tag
        assert results["python-runner"]["ok"], results["python-runner"]["error"]
        assert not results["sqlserver-runner"]["ok"]
        assert "not built" in results["sqlserver-runner"]["error"]
        assert registry_tags(registry, "platform/adp-runtime-test") == ["python-runner-push"]
    finally:
        subprocess.run([docker_cli, "rmi", "-f", built.tag], capture_output=True, check=False)
