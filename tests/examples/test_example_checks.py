"""Each example passes what its README asks before a push: ruff with its own settings,
`adp dags validate` (the platform's DAG rules), and its own test suite, with the tools of
this repository's environment. (The pagila example's suite also runs inside its image:
tests/examples/test_pagila_stack.py.)"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from adp_test_servers.tools import project_tool
from adp_test_support import REPO, run

EXAMPLES = sorted(p.parent for p in (REPO / "examples").glob("*/.copier-answers.yml"))
IDS = [e.name for e in EXAMPLES]


@pytest.mark.parametrize("example", EXAMPLES, ids=IDS)
def test_ruff_is_clean_with_the_examples_own_settings(example: Path) -> None:
    ruff = project_tool("ruff")
    run([ruff, "check", "--no-cache", "."], cwd=example)
    run([ruff, "format", "--check", "--no-cache", "."], cwd=example)


@pytest.mark.parametrize("example", EXAMPLES, ids=IDS)
def test_adp_dags_validate_passes(example: Path) -> None:
    done = run([project_tool("adp"), "dags", "validate", "dags"], cwd=example, timeout=300)
    assert "0 error(s), 0 warning(s)" in done.stdout, done.stdout


@pytest.mark.parametrize("example", EXAMPLES, ids=IDS)
def test_the_examples_own_tests_pass(example: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PYTEST"))}
    env["AIRFLOW_HOME"] = str(tmp_path / "airflow-home")
    done = run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=example,
        env=env,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and " skipped" not in done.stdout, done.stdout[-2000:]
