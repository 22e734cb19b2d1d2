"""The import check's target: an interpreter without Airflow, or none at all, is one ADP025
finding that says what to do; the static rules still run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from adp.validation import ImportTarget, ValidationOptions, validate
from dag_corpus import dag


@pytest.fixture
def dag_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "corp_target.py").write_text(dag("corp_target", task="return eval('1')"))
    return folder


def test_deployment_values_are_not_passed_to_the_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Variable in the caller's environment does not make a parse-time read pass: the import
    check sees what CI and the image see."""
    monkeypatch.setenv("AIRFLOW_VAR_CORP_LIMIT", "5")
    folder = tmp_path / "dags"
    (folder / "settings").mkdir(parents=True)
    (folder / "settings" / "__init__.py").write_text(
        "from airflow.sdk import Variable\n\n\n"
        "def limit():\n    return Variable.get('corp_limit')\n"
    )
    (folder / "corp_env.py").write_text(
        dag("corp_env", top="from settings import limit\nLIMIT = limit()")
    )
    report = validate([str(folder)], ValidationOptions(package="corp"))
    assert [(f.rule, f.line) for f in report.active()] == [("ADP020", 5)]
    assert "VARIABLE_NOT_FOUND" in report.active()[0].message


@pytest.mark.parametrize("kind", ["missing", "no-airflow"])
def test_target_without_airflow_is_one_finding(tmp_path: Path, dag_folder: Path, kind: str) -> None:
    if kind == "missing":
        python = str(tmp_path / "no-such-python")
    else:
        subprocess.run(
            [sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "bare")], check=True
        )
        python = str(tmp_path / "bare" / "bin" / "python")
    options = ValidationOptions(package="corp", target=ImportTarget(python=python))
    report = validate([str(dag_folder)], options)
    rules = sorted(f.rule for f in report.active())
    assert rules == ["ADP025", "S307"]  # the static rules ran all the same
    unavailable = next(f for f in report.findings if f.rule == "ADP025")
    assert python in unavailable.message
    if kind == "no-airflow":
        assert "cannot import Airflow" in unavailable.message
