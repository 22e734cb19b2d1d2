"""docs/how-to/upgrade-airflow.md, done for real on a copy of the tree: one line of facts.env,
`make constraints` and `adp images lock airflow-runner`, and nothing else needs editing.

The target is the newest Apache Airflow release below the pinned one, from the package index.
The copy's own tests/test_facts.py is the judge: it fails after the edit alone (naming the
files to regenerate) and passes after the two commands, which change only the two files
that hold a resolved copy of the version.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from adp import facts
from adp_test_support import REPO, copy_tree, previous_release

pytestmark = pytest.mark.slow

REGENERATED = {
    "facts.env",
    facts.load().AIRFLOW_CONSTRAINTS,
    "runtime-environments/airflow-runner/requirements.lock",
}


def facts_test(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": f"{tree / 'platform-cli/src'}{os.pathsep}{tree / 'tests'}",
    }
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "--rootdir", str(tree), "-c", str(tree / "pyproject.toml"),
         str(tree / "tests/test_facts.py")],
        cwd=tree, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip


def changed_files(tree: Path) -> set[str]:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout.decode()
    return {
        name
        for name in filter(None, listed.split("\0"))
        if (REPO / name).is_file() and (REPO / name).read_bytes() != (tree / name).read_bytes()
    }


def test_changing_airflow_is_one_line_and_two_commands(tmp_path: Path) -> None:
    tree = tmp_path / "fork"
    copy_tree(tree)
    target = previous_release()
    facts_file = tree / "facts.env"
    facts_file.write_text(
        re.sub(r"(?m)^AIRFLOW_VERSION=.*$", f"AIRFLOW_VERSION={target}", facts_file.read_text())
    )

    stale = facts_test(tree)
    assert stale.returncode == 1, stale.stdout
    assert "run make -C layer1-base-image constraints" in stale.stdout
    assert "run adp images lock airflow-runner" in stale.stdout

    env = {**os.environ, "PYTHONPATH": str(tree / "platform-cli/src")}
    for command in (
        ["make", "-s", "-C", str(tree / "layer1-base-image"), "constraints"],
        [sys.executable, "-m", "adp.cli.main", "images", "lock", "airflow-runner"],
    ):
        done = subprocess.run(
            command, cwd=tree, env=env, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, f"{' '.join(command)}:\n{done.stdout}{done.stderr}"

    judged = facts_test(tree)
    assert judged.returncode == 0, judged.stdout
    assert changed_files(tree) == REGENERATED
    constraints = (tree / facts.load().AIRFLOW_CONSTRAINTS).read_text()
    assert f"\napache-airflow=={target}\n" in constraints
