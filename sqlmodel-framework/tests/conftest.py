"""Fixtures: a throw-away PostgreSQL server for the session, and an engine per test on a fresh
SQLite file or a fresh PostgreSQL database (``engine`` is parametrized over both)."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlmodel_framework import postgres_engine, sqlite_engine

#: Role the behaviour tests connect as (the triggers must record it as changed_by).
WRITER = "adp_writer"
#: Role that logs in with a password (scram-sha-256) in the engine tests.
PASSWORD_USER = "adp_password_user"
PASSWORD = "s3cr3t-Pa55-never-logged"


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    superuser: str
    password_user: str
    password: str

    def superuser_engine(self, database: str = "postgres") -> Engine:
        return create_engine(
            f"postgresql+psycopg2://{self.superuser}@{self.host}:{self.port}/{database}"
            "?gssencmode=disable",
            isolation_level="AUTOCOMMIT",
        )


def _find_bindir() -> Path:
    candidates = [os.environ.get("ADP_PG_BINDIR", "")]
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").exists():
            return Path(candidate)
    pytest.fail(
        "PostgreSQL server binaries (initdb, pg_ctl) not found in /usr/lib/postgresql/*/bin: "
        "install Debian's 'postgresql' package (apt-get install postgresql) or set "
        "ADP_PG_BINDIR to the directory holding initdb",
        pytrace=False,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_server_user() -> tuple[list[str], int | None, int | None]:
    """PostgreSQL refuses to run as root: run its programs as the 'postgres' user then."""
    if os.geteuid() != 0:
        return [], None, None
    try:
        account = pwd.getpwnam("postgres")
    except KeyError:
        pytest.fail(
            "running as root, but there is no 'postgres' system user to run the test server "
            "as: install Debian's 'postgresql' package (it creates the user) or run as non-root",
            pytrace=False,
        )
    return ["runuser", "-u", "postgres", "--"], account.pw_uid, account.pw_gid


@contextmanager
def running_postgres(
    *,
    hba_lines: list[str],
    settings: dict[str, str] | None = None,
    environment: dict[str, str] | None = None,
    prepare: Callable[[Path, int | None, int | None], None] | None = None,
) -> Iterator[int]:
    """Start a throw-away cluster on 127.0.0.1 (socket in its temp dir, ``hba_lines`` before
    the trust rules) and yield its port; stop it and delete everything afterwards.
    ``prepare(root, uid, gid)`` may put files (keytabs) into the cluster's directory first."""
    bindir = _find_bindir()
    prefix, uid, gid = _as_server_user()
    root = Path(tempfile.mkdtemp(prefix="adp-pgtest-"))
    if uid is not None and gid is not None:
        os.chown(root, uid, gid)
    data, log = root / "data", root / "server.log"
    env = [f"{k}={v}" for k, v in (environment or {}).items()]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*prefix, "env", *env, *args], cwd=root, capture_output=True, text=True, check=False
        )

    try:
        result = run(
            str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
            "-E", "UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip
        if result.returncode != 0:
            pytest.fail(f"initdb failed:\n{result.stdout}\n{result.stderr}", pytrace=False)
        if prepare is not None:
            prepare(root, uid, gid)
        hba = data / "pg_hba.conf"
        hba.write_text("".join(f"{line}\n" for line in hba_lines) + hba.read_text())
        port = _free_port()
        options = {
            "listen_addresses": "127.0.0.1",
            "port": str(port),
            "unix_socket_directories": str(root),
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            **(settings or {}),
        }
        with (data / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{key} = '{value}'\n" for key, value in options.items())
        result = run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60",
                     "start")  # fmt: skip
        if result.returncode != 0:
            server_log = log.read_text() if log.exists() else ""
            pytest.fail(f"PostgreSQL did not start:\n{result.stderr}\n{server_log}", pytrace=False)
        try:
            yield port
        finally:
            run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_starter() -> Callable[..., Any]:
    """:func:`running_postgres`, for test modules that need a differently configured server."""
    return running_postgres


@pytest.fixture(scope="session")
def free_port() -> Callable[[], int]:
    return _free_port


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    hba = [f"host all {PASSWORD_USER} 127.0.0.1/32 scram-sha-256"]
    with running_postgres(hba_lines=hba) as port:
        server = PostgresServer("127.0.0.1", port, "postgres", PASSWORD_USER, PASSWORD)
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
