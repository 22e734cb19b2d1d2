"""The import check's target: an interpreter without Airflow, or none at all, is one ADP025
finding that says what to do; the static rules still run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from adp.validation import ImportTarget, ValidationOptions, validate
from adp_test_helpers.dag_corpus import dag


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


def test_credentials_in_the_callers_environment_are_not_passed_to_the_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The code being checked (a pushed commit, for the git promoter) cannot read the tokens
    and cloud keys of the process validating it; an ordinary setting reaches it when passed
    explicitly (pass_env)."""
    for name in ("SALES_GIT_TOKEN", "ORDERS_HOOK_SECRET", "AWS_SECRET_ACCESS_KEY",
                 "ADP_AIRFLOW_TOKEN", "DB_PASSWORD", "SSH_AUTH_SOCK"):  # fmt: skip
        monkeypatch.setenv(name, "leak-" + name.lower())
    monkeypatch.setenv("CORP_REGION", "eu")
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "corp_env.py").write_text(
        dag("corp_env", top="import os\nSEEN = sorted(v for v in os.environ.values() if "
            "v.startswith('leak-'))\nassert not SEEN, SEEN\nassert os.environ['CORP_REGION']")
    )  # fmt: skip
    report = validate([str(folder)], ValidationOptions(package="corp", pass_env=["CORP_REGION"]))
    assert report.active() == [], report.active()
    assert [d.dag_id for d in report.dags] == ["corp_env"]


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
