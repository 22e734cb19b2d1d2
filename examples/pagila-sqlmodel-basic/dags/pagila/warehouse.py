"""The database pagila-sqlmodel-basic writes to, as a SQLAlchemy engine.

Engines come from sqlmodel_framework, which keeps passwords out of logs.
Call `get_engine()` inside a task, never at module level: the DAG processor
imports DAG files every few seconds and must not open connections.

The warehouse is the Airflow connection `pagila_warehouse`
(PostgreSQL): host, port and schema (the database), login and
password.
Define it in .env (see .env.example) or in the deployment's secrets backend.
Under `astro dev start` without that connection, tasks write to a local
SQLite file instead, so the example runs out of the box; anywhere else a
missing connection fails the task.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel_framework import postgres_engine, sqlite_engine

CONN_ID = "pagila_warehouse"
SQLITE_PATH_VARIABLE = "PAGILA_SQLITE_PATH"
SQLITE_FILE_NAME = "pagila.sqlite"

log = logging.getLogger(__name__)


def sqlite_path() -> Path:
    """The file named by SQLITE_PATH_VARIABLE, else SQLITE_FILE_NAME in the temp folder."""
    configured = os.environ.get(SQLITE_PATH_VARIABLE)
    return Path(configured) if configured else Path(tempfile.gettempdir()) / SQLITE_FILE_NAME


def local_engine() -> Engine:
    """Engine for the local SQLite file (development and tests)."""
    path = sqlite_path()
    log.info("Using the local SQLite database %s", path)
    return sqlite_engine(path)


def is_local_development() -> bool:
    """True under `astro dev start`, which sets ASTRONOMER_ENVIRONMENT=local."""
    return os.environ.get("ASTRONOMER_ENVIRONMENT") == "local"


def get_engine() -> Engine:
    """Engine for the warehouse connection; local SQLite only in local development."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowFailException, AirflowNotFoundException

    try:
        connection = BaseHook.get_connection(CONN_ID)
    except AirflowNotFoundException:
        if not is_local_development():
            # Missing configuration is not transient: fail now, without retries.
            raise AirflowFailException(
                f"Airflow connection {CONN_ID} is not defined: define it in the deployment's "
                f"secrets backend, or as AIRFLOW_CONN_{CONN_ID.upper()} (see .env.example). "
                "Under `astro dev start` (ASTRONOMER_ENVIRONMENT=local) a local SQLite "
                "file is used instead."
            ) from None
        log.warning(
            "Airflow connection %s is not defined: writing to local SQLite instead. "
            "Define AIRFLOW_CONN_%s in .env (see .env.example).",
            CONN_ID,
            CONN_ID.upper(),
        )
        return local_engine()
    return postgres_engine(
        host=connection.host,
        database=connection.schema,
        port=connection.port or 5432,
        user=connection.login,
        password=connection.password,
    )
