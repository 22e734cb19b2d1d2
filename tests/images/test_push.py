"""`make images-push` against a real registry (Debian's docker-registry, the CNCF
distribution server) on 127.0.0.1: pushed tags appear in the registry, and a type that was
not built fails on its own without hiding the pushed one."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import adp
import pytest
from adp.images import builder, discovery
from adp.images.config import ImageConfig, source_tree
from adp_test_servers import ServerUnavailable
from adp_test_servers.registry import running_registry
from adp_test_servers.registry import tags as registry_tags

RUNTIME_ROOT = source_tree().runtime_root

pytestmark = pytest.mark.docker


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[str]:
    with contextlib.ExitStack() as stack:
        try:
            address = stack.enter_context(running_registry(tmp_path / "registry"))
        except ServerUnavailable as exc:
            pytest.skip(str(exc))
        yield address


def test_push_to_a_real_registry(
    registry: str, docker_cli: str, base_image: str, test_config: ImageConfig, tmp_path: Path
) -> None:
    config = replace(test_config, registry=f"{registry}/platform", version="push")
    runtimes = discovery.select(discovery.discover(RUNTIME_ROOT), ["python-runner"])
    options = builder.BuildOptions(log_dir=tmp_path / "logs")
    (built,) = builder.build_all(runtimes, config, options, docker=docker_cli)
    assert built.ok, built.error
    assert built.tag == f"{registry}/platform/adp-runtime-test:python-runner-push"
    env = {
        **os.environ,
        # The adp this test imports, whatever the subprocess's folder.
        "PYTHONPATH": str(Path(adp.__file__).resolve().parents[1]),
        "IMAGE_REGISTRY": config.registry,
        "RUNTIME_REPO": config.repo,
        "PLATFORM_VERSION": config.version,
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
