"""Fixtures: a throw-away PostgreSQL server for the session (adp_test_servers, from
test-support), and an engine per test on a fresh SQLite file or a fresh PostgreSQL database
(``engine`` is parametrized over both)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from adp_test_servers.postgres import PostgresCluster, running_postgres
from sqlalchemy import Engine, create_engine, text
from sqlmodel_framework import postgres_engine, sqlite_engine

#: Role the behaviour tests connect as (the triggers must record it as changed_by).
WRITER = "adp_writer"
#: Role that logs in with a password (scram-sha-256) in the engine tests.
PASSWORD_USER = "adp_password_user"
PASSWORD = "s3cr3t-Pa55-never-logged"


@dataclass(frozen=True)
class PostgresServer:
    cluster: PostgresCluster
    password_user: str
    password: str

    @property
    def host(self) -> str:
        return self.cluster.host

    @property
    def port(self) -> int:
        return self.cluster.port

    def superuser_engine(self, database: str = "postgres") -> Engine:
        url = self.cluster.url(database, driver="postgresql+psycopg2", gssencmode="disable")
        return create_engine(url, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    hba = [f"host all {PASSWORD_USER} 127.0.0.1/32 scram-sha-256"]
    with running_postgres(hba_lines=hba) as cluster:
        server = PostgresServer(cluster, PASSWORD_USER, PASSWORD)
        admin = server.superuser_engine()
        with admin.connect() as connection:
            connection.execute(text(f"CREATE ROLE {WRITER} LOGIN"))
            connection.execute(text(f"CREATE ROLE {PASSWORD_USER} LOGIN PASSWORD '{PASSWORD}'"))
            connection.execute(text(f"CREATE ROLE adp_other NOLOGIN; GRANT adp_other TO {WRITER}"))
        admin.dispose()
        yield server


@pytest.fixture
def pg_database(pg_server: PostgresServer) -> Iterator[str]:
    """A new, empty database owned by the writer role; dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = pg_server.superuser_engine()
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" OWNER {WRITER}'))
    try:
        yield name
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def make_engine(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Engine:
    if kind == "sqlite":
        return sqlite_engine(tmp_path / "test.sqlite")
    server: PostgresServer = request.getfixturevalue("pg_server")
    database: str = request.getfixturevalue("pg_database")
    return postgres_engine(host=server.host, port=server.port, database=database, user=WRITER)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on a fresh, empty database of each supported, locally runnable dialect."""
    engine = make_engine(request.param, request, tmp_path)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def pg_engine(pg_server: PostgresServer, pg_database: str) -> Iterator[Engine]:
    """An engine on a fresh PostgreSQL database, for PostgreSQL-only behaviour."""
    engine = postgres_engine(
        host=pg_server.host, port=pg_server.port, database=pg_database, user=WRITER
    )
    try:
        yield engine
    finally:
        engine.dispose()
