"""The platform-cli wheel carries what adp reads outside its own code: facts.env (the pinned
facts) and scripts/find-buildkit-docker (the one BuildKit-client rule), byte for byte."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import pytest
from adp import facts
from adp_test_servers.tools import project_tool

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_wheel_carries_facts_and_the_docker_client_rule(tmp_path: Path) -> None:
    command = [project_tool("uv"), "build", "--wheel", "--out-dir", str(tmp_path)]
    built = subprocess.run(
        [*command, str(REPO / "platform-cli")], capture_output=True, text=True, check=False
    )
    assert built.returncode == 0, built.stderr
    version = facts.load().PLATFORM_VERSION
    (wheel,) = tmp_path.glob(f"platform_cli-{version}-py3-none-any.whl")
    with zipfile.ZipFile(wheel) as archive:
        assert archive.read("adp/facts.env") == (REPO / "facts.env").read_bytes()
        script = archive.read("adp/find-buildkit-docker")
        assert script == (REPO / "scripts/find-buildkit-docker").read_bytes()
