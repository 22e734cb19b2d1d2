"""DAG import check run by `astro dev parse` (and `astro deploy`) inside the image.

The Astro CLI writes its own version of this file on `astro dev init`; that
version calls DagBag(include_examples=False), which raises TypeError on
Airflow 3.3. This one works there: examples are turned off by configuration
before Airflow is imported. The datakit's full rules are in tests/dags/.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"

from airflow.dag_processing.dagbag import DagBag

PROJECT_ROOT = Path(__file__).resolve().parents[1]
EXCEPTIONS_FILE = PROJECT_ROOT / ".astro" / "dag_integrity_exceptions.txt"


def tolerated() -> set[str]:
    if not EXCEPTIONS_FILE.exists():
        return set()
    lines = (line.strip() for line in EXCEPTIONS_FILE.read_text().splitlines())
    return {line for line in lines if line and not line.startswith("#")}


def import_errors() -> list[tuple[str, str]]:
    dag_bag = DagBag(dag_folder=str(PROJECT_ROOT / "dags"))
    errors = [
        (os.path.relpath(path, PROJECT_ROOT), message.strip())
        for path, message in dag_bag.import_errors.items()
    ]
    return [(path, message) for path, message in errors if path not in tolerated()]


def test_dags_import_without_errors() -> None:
    errors = import_errors()
    if errors:
        pytest.fail("\n\n".join(f"{path} failed to import:\n{message}" for path, message in errors))
