"""Engines for the three supported databases, built without credentials in code or logs.

* :func:`sqlite_engine` for a file (or memory), with foreign keys enforced.
* :func:`postgres_engine` with a password (prefer ``PGPASSWORD``/``~/.pgpass``, which libpq
  reads itself) or Kerberos (``kerberos=True``: GSSAPI, ``gssencmode=require``, ticket cache
  from ``KRB5CCNAME``). Without Kerberos ``gssencmode=disable`` is set, so an unusable ticket
  cache on the machine cannot break the connection.
* :func:`mssql_engine` through pyodbc, with ``Trusted_Connection=yes`` (Kerberos, ticket cache
  from ``KRB5CCNAME``) or a SQL login.
* :func:`engine_from_url` for a URL read from configuration (environment, Airflow connection).

Passwords only ever travel inside SQLAlchemy ``URL`` objects, whose ``repr``/``str`` print
``***``; this module logs URLs with the password hidden.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Literal, Protocol

from sqlalchemy import URL, Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import StaticPool

from .dialects import SUPPORTED_DIALECTS
from .errors import EngineConfigError, UnsupportedDialectError

log = logging.getLogger(__name__)

GssEncMode = Literal["disable", "prefer", "require"]
DEFAULT_ODBC_DRIVER = "ODBC Driver 18 for SQL Server"


class _Secret(Protocol):
    def get_secret_value(self) -> str: ...


Password = str | _Secret | None


def _reveal(password: Password) -> str | None:
    if password is None or isinstance(password, str):
        return password
    return password.get_secret_value()


def check_ticket_cache(environ: dict[str, str] | None = None) -> None:
    """Raise :class:`EngineConfigError` if ``KRB5CCNAME`` names a file or directory cache that
    does not exist (other cache types, or no variable, are left to the Kerberos library)."""
    environ = dict(os.environ) if environ is None else environ
    name = environ.get("KRB5CCNAME")
    if not name:
        return
    kind, _, rest = name.partition(":") if ":" in name else ("FILE", "", name)
    if kind.upper() not in ("FILE", "DIR"):
        return
    path = Path(rest.lstrip(":") if kind.upper() == "DIR" else rest)
    if not path.exists():
        raise EngineConfigError(
            f"KRB5CCNAME={name}: the Kerberos ticket cache does not exist; get a ticket "
            "(kinit, or start the platform's ticket sharer) before connecting with Kerberos"
        )


def _log_created(engine: Engine) -> Engine:
    log.info("sqlmodel_framework engine: %s", engine.url.render_as_string(hide_password=True))
    return engine


def _sqlite_on_connect(dbapi_connection: Any, connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def _finish_sqlite(engine: Engine) -> Engine:
    event.listen(engine, "connect", _sqlite_on_connect)
    return _log_created(engine)


def sqlite_engine(path: str | os.PathLike[str] | None = None, **engine_kwargs: Any) -> Engine:
    """An engine for the SQLite file ``path`` (a shared in-memory database if None)."""
    if path is None:
        engine_kwargs.setdefault("poolclass", StaticPool)
        engine_kwargs.setdefault("connect_args", {"check_same_thread": False})
    url = URL.create("sqlite", database=None if path is None else os.fspath(path))
    return _finish_sqlite(create_engine(url, **engine_kwargs))


def postgres_url(
    *,
    host: str,
    database: str,
    port: int = 5432,
    user: str | None = None,
    password: Password = None,
    kerberos: bool = False,
    gssencmode: GssEncMode | None = None,
    sslmode: str | None = None,
    driver: Literal["psycopg2", "psycopg"] = "psycopg2",
    application_name: str = "sqlmodel-framework",
    connect_timeout: int = 10,
) -> URL:
    """The SQLAlchemy URL :func:`postgres_engine` connects with (password hidden in repr)."""
    secret = _reveal(password)
    if kerberos and secret:
        raise EngineConfigError(
            f"postgresql://{host}/{database}: a Kerberos (GSSAPI) login takes no password; "
            "drop password= or set kerberos=False"
        )
    mode = gssencmode or ("require" if kerberos else "disable")
    if mode not in ("disable", "prefer", "require"):
        raise EngineConfigError(
            f"postgresql://{host}/{database}: gssencmode={mode!r} is not one of "
            "disable, prefer, require"
        )
    if kerberos and mode == "disable":
        raise EngineConfigError(
            f"postgresql://{host}/{database}: kerberos=True needs gssencmode prefer or require"
        )
    query = {
        "gssencmode": mode,
        "application_name": application_name,
        "connect_timeout": str(connect_timeout),
    }
    if sslmode:
        query["sslmode"] = sslmode
    return URL.create(
        f"postgresql+{driver}",
        username=user,
        password=secret,
        host=host,
        port=port,
        database=database,
        query=query,
    )


def postgres_engine(
    *,
    host: str,
    database: str,
    port: int = 5432,
    user: str | None = None,
    password: Password = None,
    kerberos: bool = False,
    gssencmode: GssEncMode | None = None,
    sslmode: str | None = None,
    driver: Literal["psycopg2", "psycopg"] = "psycopg2",
    application_name: str = "sqlmodel-framework",
    connect_timeout: int = 10,
    **engine_kwargs: Any,
) -> Engine:
    """An engine for PostgreSQL.

    With ``kerberos=True`` libpq authenticates with the ticket in ``KRB5CCNAME`` (checked to
    exist) and the framework's triggers record the principal's role as ``changed_by``.
    """
    url = postgres_url(
        host=host,
        database=database,
        port=port,
        user=user,
        password=password,
        kerberos=kerberos,
        gssencmode=gssencmode,
        sslmode=sslmode,
        driver=driver,
        application_name=application_name,
        connect_timeout=connect_timeout,
    )
    if kerberos:
        check_ticket_cache()
    return _log_created(create_engine(url, **engine_kwargs))


def mssql_url(
    *,
    host: str,
    database: str,
    port: int | None = None,
    username: str | None = None,
    password: Password = None,
    trusted_connection: bool | None = None,
    odbc_driver: str = DEFAULT_ODBC_DRIVER,
    encrypt: bool = True,
    trust_server_certificate: bool = False,
) -> URL:
    """The SQLAlchemy URL :func:`mssql_engine` connects with (password hidden in repr).

    ``trusted_connection`` defaults to True when no ``username`` is given.
    """
    secret = _reveal(password)
    trusted = username is None if trusted_connection is None else trusted_connection
    where = f"mssql://{host}/{database}"
    if trusted and (username or secret):
        raise EngineConfigError(
            f"{where}: Trusted_Connection=yes logs in with the Kerberos ticket in KRB5CCNAME; "
            "drop username=/password= or set trusted_connection=False"
        )
    if not trusted and not (username and secret):
        raise EngineConfigError(
            f"{where}: a SQL login needs both username= and password= (read the password "
            "from a secret store or the environment, never from code)"
        )
    query = {
        "driver": odbc_driver,
        "Encrypt": "yes" if encrypt else "no",
        "TrustServerCertificate": "yes" if trust_server_certificate else "no",
    }
    if trusted:
        query["Trusted_Connection"] = "yes"
    return URL.create(
        "mssql+pyodbc",
        username=username,
        password=secret,
        host=host,
        port=port,
        database=database,
        query=query,
    )


def mssql_engine(
    *,
    host: str,
    database: str,
    port: int | None = None,
    username: str | None = None,
    password: Password = None,
    trusted_connection: bool | None = None,
    odbc_driver: str = DEFAULT_ODBC_DRIVER,
    encrypt: bool = True,
    trust_server_certificate: bool = False,
    **engine_kwargs: Any,
) -> Engine:
    """An engine for SQL Server through pyodbc (needs the ``mssql`` extra and an ODBC driver)."""
    url = mssql_url(
        host=host,
        database=database,
        port=port,
        username=username,
        password=password,
        trusted_connection=trusted_connection,
        odbc_driver=odbc_driver,
        encrypt=encrypt,
        trust_server_certificate=trust_server_certificate,
    )
    if url.query.get("Trusted_Connection") == "yes":
        check_ticket_cache()
    return _log_created(create_engine(url, **engine_kwargs))


def engine_from_url(url: str | URL, **engine_kwargs: Any) -> Engine:
    """An engine for a URL from configuration; refuses dialects the framework does not support.

    Error messages show the URL with its password hidden.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        # SQLAlchemy's message repeats the whole string, password included.
        raise EngineConfigError(
            "the engine URL could not be parsed (not shown: it may contain a password); "
            "expected dialect+driver://user@host:port/database"
        ) from None
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED_DIALECTS:
        raise UnsupportedDialectError(
            f"{parsed.render_as_string(hide_password=True)}: database dialect '{backend}' is "
            f"not supported by sqlmodel_framework; use one of {', '.join(SUPPORTED_DIALECTS)}"
        )
    engine = create_engine(parsed, **engine_kwargs)
    if backend == "sqlite":
        return _finish_sqlite(engine)
    return _log_created(engine)
