"""`make demo`, the README's first command, does what it says, end to end."""

from __future__ import annotations

import pytest
from adp_test_support import REPO, build_env, run, strip_ansi

pytestmark = pytest.mark.docker


def test_make_demo_builds_a_datakit_and_runs_its_dag(layer1_image, docker_client, tmp_path):
    result = run(
        ["make", "-C", str(REPO), "demo"],
        env=build_env(DEMO_DIR=str(tmp_path), DATAKIT="demo-test-kit"),
    )
    out = strip_ansi(result.stdout)
    dockerfile = (tmp_path / "demo-test-kit" / "Dockerfile").read_text().splitlines()
    assert [line for line in dockerfile if line and not line.startswith("#")] == [
        f"FROM {layer1_image}"
    ]
    assert "No data found" in out, "list-import-errors must report no errors"
    assert "DagRun Finished: dag_id=demo_test_kit_example" in out
    assert "state=success" in out
    assert " passed" in out.split("the datakit's own suite")[-1]
    docker_client.images.remove("demo-test-kit:latest", force=True)
