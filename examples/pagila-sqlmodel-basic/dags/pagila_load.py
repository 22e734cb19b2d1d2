"""Load one day of the Pagila sample into the warehouse, then report what changed.

Trigger it with the day to load (the `day` parameter, 1 to 60): each day of
the simulated source system changes some films' rental rate and some
customers' store, rents six films and brings earlier rentals back.

- deploy_tables: creates the tables, their history tables and triggers
  (idempotent; sqlmodel_framework's deploy()).
- clock: the warehouse's time before anything is written.
- load_dimensions: actors, films, film_actor and customers are reference
  tables: changed rows are updated, and the database keeps the old version.
- load_facts: rentals and payments are transactional tables; returns update
  the rentals.
- report: reads the films and customers as they were at `clock` with
  `as_of()`, and lists what this load changed.

Loading the same day twice changes nothing the second time. At module level this file imports only
Airflow: the `pagila` package is imported inside the tasks.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import Param, dag, task

log = logging.getLogger(__name__)


@dag(
    dag_id="pagila_load",
    description="Load one day of the Pagila sample into the warehouse and report the changes",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    max_active_runs=1,
    params={
        "day": Param(1, type="integer", minimum=1, maximum=60, description="Day to load"),
    },
    default_args={
        "owner": "data-engineering",
        "retries": 2,
        "retry_delay": timedelta(seconds=30),
    },
    tags=["pagila-sqlmodel-basic", "example"],
    doc_md=__doc__,
)
def pagila_load() -> None:
    @task
    def deploy_tables() -> list[str]:
        from pagila.load import deploy_tables as deploy
        from pagila.warehouse import get_engine

        return deploy(get_engine())

    @task
    def clock() -> str:
        from pagila.load import database_now
        from pagila.warehouse import get_engine

        return database_now(get_engine()).isoformat()

    @task
    def load_dimensions(params: dict[str, Any] | None = None) -> dict[str, int]:
        from pagila.load import load_dimensions as load
        from pagila.warehouse import get_engine

        return load(get_engine(), int((params or {})["day"]))

    @task
    def load_facts(params: dict[str, Any] | None = None) -> dict[str, int]:
        from pagila.load import load_facts as load
        from pagila.warehouse import get_engine

        return load(get_engine(), int((params or {})["day"]))

    @task
    def report(before: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        from pagila.report import report as build
        from pagila.report import summary
        from pagila.warehouse import get_engine

        result = build(get_engine(), int((params or {})["day"]), datetime.fromisoformat(before))
        for line in summary(result):
            log.info("%s", line)
        return result

    moment = clock()
    deploy_tables() >> moment
    moment >> load_dimensions() >> load_facts() >> report(moment)


pagila_load()
