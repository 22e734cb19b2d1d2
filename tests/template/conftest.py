"""Fixtures for the datakit template tests (copier.yml + templates/datakit).

The template under test is always a *copy* of the repository's template
files, committed to a throw-away git repository: tests never depend on
uncommitted or untracked files elsewhere in the monorepo, and `copier update`
gets real tags to move between.
"""

from __future__ import annotations

import itertools
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from adp_test_servers.tools import project_tool
from adp_test_support import GIT_ENV, git

REPO_ROOT = Path(__file__).resolve().parents[2]
COPIER_YML = REPO_ROOT / "copier.yml"


def load_questions() -> dict[str, dict[str, Any]]:
    """The questions of copier.yml (keys not starting with "_"), as written there."""
    config = yaml.safe_load(COPIER_YML.read_text())
    return {key: value for key, value in config.items() if not key.startswith("_")}


def choice_values(question: dict[str, Any]) -> list[Any]:
    """Every allowed answer of a choice or bool question."""
    if question.get("type") == "bool":
        return [True, False]
    choices = question["choices"]
    return list(choices.values()) if isinstance(choices, dict) else list(choices)


def choice_matrix() -> list[dict[str, Any]]:
    """Every combination of the asked choice questions, read from copier.yml itself."""
    questions = {
        name: q
        for name, q in load_questions().items()
        if (q.get("type") == "bool" or "choices" in q) and q.get("when") is not False
    }
    names = sorted(questions)
    return [
        dict(zip(names, values, strict=True))
        for values in itertools.product(*(choice_values(questions[n]) for n in names))
    ]


def covering_combos(matrix: list[dict[str, Any]], strength: int = 3) -> list[dict[str, Any]]:
    """A subset of `matrix` in which every `strength` answers, of any `strength` questions,
    appear together at least once (a covering array, chosen greedily and deterministically).

    No template file's path and text name more than three questions (a test checks it), so
    at strength 3 every combination of answers any one file can see is run."""
    names = sorted(matrix[0]) if matrix else []
    strength = min(strength, len(names))

    def tuples(combo: dict[str, Any]) -> set[tuple[tuple[str, Any], ...]]:
        return {
            tuple((n, combo[n]) for n in group) for group in itertools.combinations(names, strength)
        }

    uncovered = set().union(*(tuples(c) for c in matrix)) if matrix else set()
    chosen: list[dict[str, Any]] = []
    while uncovered:
        best = max(matrix, key=lambda c: len(tuples(c) & uncovered))  # first of the best
        chosen.append(best)
        uncovered -= tuples(best)
    return chosen


def combo_id(data: dict[str, Any]) -> str:
    parts = []
    for key, value in sorted(data.items()):
        if isinstance(value, bool):
            parts.append(key if value else f"no_{key}")
        else:
            parts.append(f"{key}={value}")
    return "-".join(parts)


def run_copier(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The copier CLI, as users run it (never with --trust)."""
    copier = project_tool("copier")
    env = {**os.environ, **GIT_ENV, "NO_COLOR": "1", "COLUMNS": "200"}
    return subprocess.run(
        [copier, *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


def clean_env() -> dict[str, str]:
    """Environment for a generated project's own tools: nothing of this repo leaks in."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AIRFLOW", "PYTEST", "COV_", "ADP_"))
    }
    return env


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests asking for `combo` run once per combination of the choice questions; tests
    asking for `suite_combo` (a generated project's whole test suite, the expensive part)
    once per combination of a covering subset: every three answers together at least once."""
    if "combo" in metafunc.fixturenames:
        matrix = choice_matrix()
        metafunc.parametrize("combo", matrix, ids=[combo_id(c) for c in matrix])
    if "suite_combo" in metafunc.fixturenames:
        covering = covering_combos(choice_matrix())
        metafunc.parametrize("suite_combo", covering, ids=[combo_id(c) for c in covering])


@pytest.fixture(scope="session")
def answer_matrix() -> list[dict[str, Any]]:
    return choice_matrix()


@pytest.fixture(name="covering_combos", scope="session")
def covering_combos_fixture() -> Callable[..., list[dict[str, Any]]]:
    return covering_combos


@pytest.fixture(scope="session")
def project_env() -> dict[str, str]:
    return clean_env()


@pytest.fixture(scope="session")
def copier_cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    return run_copier


@pytest.fixture(scope="session")
def git_cmd() -> Callable[..., str]:
    return git


@pytest.fixture(scope="session")
def template_questions() -> dict[str, dict[str, Any]]:
    return load_questions()
