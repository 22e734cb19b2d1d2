"""Engine helpers: correct URLs for each database and login, real connections, and no
password in any repr, str, log line or error message."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlmodel_framework import (
    EngineConfigError,
    UnsupportedDialectError,
    engine_from_url,
    mssql_url,
    postgres_engine,
    postgres_url,
    sqlite_engine,
)
from sqlmodel_framework.engines import check_ticket_cache


def _secret_free(secret: str, *texts: str) -> None:
    for item in texts:
        assert secret not in item, item


@pytest.mark.parametrize("password", ["plain", "secretstr"])
def test_postgres_password_login_never_shows_the_password(
    pg_server, caplog: pytest.LogCaptureFixture, password: str
) -> None:
    given = pg_server.password if password == "plain" else SecretStr(pg_server.password)
    caplog.set_level(logging.DEBUG)
    engine = postgres_engine(
        host=pg_server.host,
        port=pg_server.port,
        database="postgres",
        user=pg_server.password_user,
        password=given,
        echo="debug",
    )
    with engine.connect() as connection:
        assert connection.execute(text("SELECT current_user")).scalar() == pg_server.password_user
    engine.dispose()
    assert "***" in repr(engine)
    assert "sqlmodel_framework engine: postgresql+psycopg2://adp_password_user:***@" in caplog.text
    _secret_free(pg_server.password, repr(engine), str(engine.url), repr(engine.url), caplog.text)


def test_wrong_password_error_does_not_contain_the_password(pg_server) -> None:
    wrong = "Wr0ng-" + pg_server.password
    engine = postgres_engine(
        host=pg_server.host,
        port=pg_server.port,
        database="postgres",
        user=pg_server.password_user,
        password=wrong,
    )
    with pytest.raises(OperationalError) as raised:
        engine.connect().close()
    assert "password authentication failed" in str(raised.value)
    _secret_free(wrong, str(raised.value), repr(raised.value))


def test_engine_from_url_connects_and_hides_the_password(pg_server) -> None:
    url = (
        f"postgresql+psycopg://{pg_server.password_user}:{pg_server.password}@{pg_server.host}:"
        f"{pg_server.port}/postgres?gssencmode=disable"
    )
    engine = engine_from_url(url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT session_user")).scalar() == "adp_password_user"
    engine.dispose()
    _secret_free(pg_server.password, repr(engine), str(engine.url))


def test_postgres_url_without_kerberos_disables_gss_encryption() -> None:
    url = postgres_url(host="db.example", database="dwh", user="etl")
    assert url.query["gssencmode"] == "disable"
    assert url.drivername == "postgresql+psycopg2"
    assert url.password is None


def test_postgres_url_with_kerberos(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = postgres_url(host="db.example", database="dwh", user="alice", kerberos=True)
    assert url.query["gssencmode"] == "require" and url.password is None
    with pytest.raises(EngineConfigError, match="takes no password"):
        postgres_url(host="h", database="d", kerberos=True, password="x")
    with pytest.raises(EngineConfigError, match="gssencmode prefer or require"):
        postgres_url(host="h", database="d", kerberos=True, gssencmode="disable")
    with pytest.raises(EngineConfigError, match="gssencmode='sometimes'"):
        postgres_url(host="h", database="d", gssencmode="sometimes")  # type: ignore[arg-type]
    monkeypatch.setenv("KRB5CCNAME", f"FILE:{tmp_path}/missing")
    with pytest.raises(EngineConfigError, match=r"KRB5CCNAME=FILE:.*/missing.*kinit"):
        postgres_engine(host="h", database="d", kerberos=True)


def test_ticket_cache_check(tmp_path: Path) -> None:
    cache = tmp_path / "krb5cc"
    cache.write_text("")
    check_ticket_cache({"KRB5CCNAME": f"FILE:{cache}"})
    check_ticket_cache({"KRB5CCNAME": str(cache)})
    check_ticket_cache({"KRB5CCNAME": f"DIR::{tmp_path}"})
    check_ticket_cache({"KRB5CCNAME": "KEYRING:persistent:1000"})
    check_ticket_cache({})
    for missing in (f"FILE:{tmp_path}/nope", f"{tmp_path}/nope", f"DIR::{tmp_path}/nope"):
        with pytest.raises(EngineConfigError, match="does not exist"):
            check_ticket_cache({"KRB5CCNAME": missing})


def test_mssql_url_trusted_connection() -> None:
    url = mssql_url(host="sql.example", database="dwh", port=1433)
    assert url.drivername == "mssql+pyodbc"
    assert url.username is None and url.password is None
    assert url.query["Trusted_Connection"] == "yes"
    assert url.query["driver"] == "ODBC Driver 18 for SQL Server"
    assert url.query["Encrypt"] == "yes"
    with pytest.raises(EngineConfigError, match="Trusted_Connection=yes"):
        mssql_url(host="h", database="d", trusted_connection=True, username="u", password="p")


def test_mssql_url_sql_login_hides_password() -> None:
    url = mssql_url(host="h", database="d", username="etl", password=SecretStr("Pw-123456"))
    assert "Trusted_Connection" not in url.query
    assert url.password == "Pw-123456"
    _secret_free("Pw-123456", repr(url), str(url), url.render_as_string())
    with pytest.raises(EngineConfigError, match="needs both username= and password="):
        mssql_url(host="h", database="d", username="etl")


def test_unsupported_url_is_refused_without_showing_the_password() -> None:
    with pytest.raises(UnsupportedDialectError, match="'mysql'") as raised:
        engine_from_url("mysql://user:Hunter2-secret@db.example/app")
    assert "***" in str(raised.value)
    _secret_free("Hunter2-secret", str(raised.value))


def test_unparsable_url_error_does_not_repeat_the_url() -> None:
    with pytest.raises(EngineConfigError, match="could not be parsed") as raised:
        engine_from_url("postgres ql://etl:Hunter2-secret@db.example/app")
    _secret_free("Hunter2-secret", str(raised.value))
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_sqlite_engine_enforces_foreign_keys(tmp_path: Path) -> None:
    for engine in (
        sqlite_engine(tmp_path / "a.sqlite"),
        sqlite_engine(),
        engine_from_url("sqlite://"),
    ):
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        engine.dispose()
