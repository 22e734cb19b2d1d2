"""Example pipeline of kerberos-postgres: extract customers, validate, load.

- extract: returns the source rows (here a fixed sample; replace with a read
  from your source system).
- validate: checks every row against the `Customer` table model.
- load: creates the table (with its history) if needed, then upserts the rows;
  the database records every previous version of a changed customer.

At module level this file imports only Airflow: the datakit's package
(`kerberos_postgres`: table models, engines) is imported inside the tasks. The
DAG then parses in milliseconds, without a database, and in every Airflow
command (some, like `airflow dags list-import-errors --local`, do not put the
dags folder on sys.path).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import dag, task

SAMPLE_CUSTOMERS: list[dict[str, Any]] = [
    {"customer_number": "C-0001", "name": "Ada Lovelace", "country_code": "GB"},
    {"customer_number": "C-0002", "name": "Grace Hopper", "country_code": "US"},
    {"customer_number": "C-0003", "name": "Katherine Johnson", "country_code": "US"},
]


@dag(
    dag_id="kerberos_postgres_example",
    description="The Kerberos pattern: the warehouse connection logs in with the shared ticket of the developer",
    schedule="@daily",
    start_date=datetime(2025, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={
        "owner": "data-engineering",
        "retries": 2,
        "retry_delay": timedelta(minutes=5),
    },
    tags=["kerberos-postgres", "example"],
    doc_md=__doc__,
)
def example() -> None:
    @task
    def extract() -> list[dict[str, Any]]:
        return [dict(row) for row in SAMPLE_CUSTOMERS]

    @task
    def validate(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        from kerberos_postgres.models import Customer

        columns = {"customer_number", "name", "country_code"}
        return [Customer.model_validate(row).model_dump(include=columns) for row in rows]

    @task
    def load(rows: list[dict[str, Any]]) -> dict[str, int]:
        from sqlmodel import Session
        from sqlmodel_framework import deploy

        from kerberos_postgres.models import Customer
        from kerberos_postgres.warehouse import get_engine

        engine = get_engine()
        deploy(engine, [Customer])  # creates the table, its history and triggers; idempotent
        counts = {"inserted": 0, "updated": 0}
        with Session(engine) as session:
            for row in rows:
                customer = session.get(Customer, row["customer_number"])
                if customer is None:
                    session.add(Customer(**row))
                    counts["inserted"] += 1
                else:
                    customer.sqlmodel_update(row)
                    session.add(customer)
                    counts["updated"] += 1
            session.commit()
        return counts

    load(validate(extract()))


example()
