"""The example DAG's tasks, run as plain functions against a throw-away SQLite file."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from airflow.dag_processing.dagbag import DagBag

DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"
DAG_FILE = DAGS_FOLDER / "kerberos_postgres_example.py"
DAG_ID = "kerberos_postgres_example"


@pytest.fixture(scope="module")
def example_dag():
    dag_bag = DagBag(dag_folder=str(DAG_FILE))
    assert dag_bag.import_errors == {}
    return dag_bag.dags[DAG_ID]


def test_tasks_and_order(example_dag) -> None:
    assert set(example_dag.task_ids) == {"extract", "validate", "load"}
    assert example_dag.get_task("validate").upstream_task_ids == {"extract"}
    assert example_dag.get_task("load").upstream_task_ids == {"validate"}


def test_extract_validate_load(example_dag, tmp_path: Path, monkeypatch) -> None:
    pytest.importorskip("sqlmodel_framework", reason="sqlmodel_framework comes with Layer 1")
    monkeypatch.syspath_prepend(str(DAGS_FOLDER))  # as Airflow does when it runs tasks
    from kerberos_postgres import warehouse

    monkeypatch.setenv(warehouse.SQLITE_PATH_VARIABLE, str(tmp_path / "test.sqlite"))
    # The warehouse itself is not reachable from a test: load into SQLite.
    monkeypatch.setattr(warehouse, "get_engine", warehouse.local_engine)

    def run(task_id: str, *args):
        return example_dag.get_task(task_id).python_callable(*args)

    rows = run("validate", run("extract"))
    assert [row["customer_number"] for row in rows] == ["C-0001", "C-0002", "C-0003"]
    assert run("load", rows) == {"inserted": 3, "updated": 0}
    assert run("load", rows) == {"inserted": 0, "updated": 3}  # a re-run adds nothing

    from sqlmodel import Session, select
    from sqlmodel_framework import as_of

    from kerberos_postgres.models import Customer

    engine = warehouse.local_engine()
    with Session(engine) as session:
        assert len(session.exec(select(Customer)).all()) == 3

    time.sleep(0.01)
    before_rename = datetime.now(UTC)
    time.sleep(0.01)
    run("load", [{**rows[0], "name": "Ada King"}])
    names_then = {c.customer_number: c.name for c in as_of(engine, Customer, before_rename)}
    names_now = {c.customer_number: c.name for c in as_of(engine, Customer, datetime.now(UTC))}
    assert names_then["C-0001"] == "Ada Lovelace"  # the database kept the old version
    assert names_now["C-0001"] == "Ada King"
