"""The platform-cli wheel carries what adp reads outside its own code: facts.env (the pinned
facts) and scripts/find-buildkit-docker (the one BuildKit-client rule), byte for byte, and the
templates it renders (the local stack's compose file, the DAG files of `adp dags generate`)."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import pytest
from adp import facts
from adp_test_servers.tools import project_tool

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_wheel_carries_facts_the_docker_client_rule_and_the_templates(tmp_path: Path) -> None:
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
        src = REPO / "platform-cli/src"
        for template in ["adp/dev/compose.yml.j2", "adp/generate/templates/kpo_dag.py.jinja"]:
            assert archive.read(template) == (src / template).read_bytes(), template
