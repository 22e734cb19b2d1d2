"""DAG integrity: dags/ passes the platform's validation, the same rules every publication and
promotion applies (`adp dags validate`; `adp dags rules` lists them).

Among them: every DAG file imports in isolation (network blocked, no metadata database) and
defines a DAG; DAG ids start with "pagila_"; no Variables, connections, network or
database calls at module level; pagila is imported inside tasks only; no hard-coded
secrets or dangerous calls; no Airflow 3 removals; every DAG has tags, every task an owner and
retries. Settings: [tool.adp.dags] in pyproject.toml. Suppress one finding with
`# adp: ignore[RULE] <reason>` on its line.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from adp.validation import (
    Report,
    ValidationOptions,
    build_options,
    load_pyproject,
    render,
    validate,
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DAGS_FOLDER = PROJECT_ROOT / "dags"
PACKAGE_NAME = "pagila"


@cache
def validation() -> tuple[ValidationOptions, Report]:
    pyproject = PROJECT_ROOT / "pyproject.toml"
    settings = load_pyproject(pyproject) if pyproject.is_file() else {}
    settings.setdefault("package", PACKAGE_NAME)
    options = build_options(settings, str(pyproject))
    return options, validate([str(DAGS_FOLDER)], options)


def test_dags_pass_the_platform_validation() -> None:
    options, report = validation()
    assert report.exit_code(options.fail_on) == 0, render(report, "text", options.fail_on)


def test_dag_ids_carry_the_package_name() -> None:
    _, report = validation()
    dag_files = [p for p in DAGS_FOLDER.glob("*.py") if "dag" in p.read_text().lower()]
    if dag_files:  # the validation really saw the DAGs (it did not pass by finding nothing)
        assert report.dags, render(report, "text")
    for dag in report.dags:
        assert dag.dag_id.startswith(f"{PACKAGE_NAME}_"), dag
