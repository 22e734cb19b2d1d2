"""Fixtures for the datakit template tests (copier.yml + templates/datakit).

The template under test is always a *copy* of the repository's template
files, committed to a throw-away git repository: tests never depend on
uncommitted or untracked files elsewhere in the monorepo, and `copier update`
gets real tags to move between.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from adp_test_servers.tools import project_tool

REPO_ROOT = Path(__file__).resolve().parents[2]
COPIER_YML = REPO_ROOT / "copier.yml"
TEMPLATE_FILES = ("copier.yml", "templates")

GIT_ENV = {
    "GIT_AUTHOR_NAME": "template-tests",
    "GIT_AUTHOR_EMAIL": "template-tests@example.invalid",
    "GIT_COMMITTER_NAME": "template-tests",
    "GIT_COMMITTER_EMAIL": "template-tests@example.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV}
    result = subprocess.run(
        ["git", "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed in {cwd}:\n{result.stderr}")
    return result.stdout


def copy_template_files(dst: Path, source_root: Path = REPO_ROOT) -> Path:
    """Copy copier.yml and templates/ (nothing else of the monorepo) into dst."""
    dst.mkdir(parents=True, exist_ok=True)
    for name in TEMPLATE_FILES:
        src = source_root / name
        if src.is_dir():
            shutil.copytree(src, dst / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(src, dst / name)
    return dst


def commit_all(repo: Path, message: str, tag: str | None = None) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    if tag:
        git(repo, "tag", tag)


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


def combo_id(data: dict[str, Any]) -> str:
    parts = []
    for key, value in sorted(data.items()):
        if isinstance(value, bool):
            parts.append(key if value else f"no_{key}")
        else:
            parts.append(f"{key}={value}")
    return "-".join(parts)


@pytest.fixture(scope="session")
def template_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repository holding the current template files, tagged v99.0.0."""
    repo = copy_template_files(tmp_path_factory.mktemp("template-repo"))
    git(repo, "init", "-q")
    commit_all(repo, "template under test", tag="v99.0.0")
    return repo


def run_copier(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The copier CLI, as users run it (never with --trust)."""
    copier = project_tool("copier")
    env = {**os.environ, **GIT_ENV, "NO_COLOR": "1", "COLUMNS": "200"}
    return subprocess.run(
        [copier, *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


@pytest.fixture(scope="session")
def render() -> Callable[..., Path]:
    """render(src, dst, **answers): `copier copy --defaults` with the given answers.

    Uses Copier's Python API (same code path as the CLI, without paying for
    its start-up once per rendering); tests of the CLI itself use copier_cli.
    """
    from copier import run_copy

    def _render(src: Path, dst: Path, vcs_ref: str | None = "HEAD", **answers: Any) -> Path:
        run_copy(
            str(src),
            str(dst),
            data=answers,
            defaults=True,
            vcs_ref=vcs_ref,
            quiet=True,
            unsafe=False,
        )
        return dst

    return _render


def clean_env() -> dict[str, str]:
    """Environment for a generated project's own tools: nothing of this repo leaks in."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AIRFLOW", "PYTEST", "COV_", "ADP_"))
    }
    return env


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests asking for `combo` run once per combination of the choice questions."""
    if "combo" in metafunc.fixturenames:
        matrix = choice_matrix()
        metafunc.parametrize("combo", matrix, ids=[combo_id(c) for c in matrix])


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
