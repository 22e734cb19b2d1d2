"""Kerberos end to end: a throw-away MIT KDC and a Kerberized PostgreSQL on loopback.
postgres_engine(kerberos=True) logs in with the ticket in KRB5CCNAME over an encrypted GSSAPI
connection, and the history triggers record the principal's role as who changed the row."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from adp_test_servers.kdc import Realm, running_realm
from adp_test_servers.postgres import gssapi_hba_line, running_postgres
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlmodel import Field, Session
from sqlmodel_framework import ReferenceTable, deploy, history_table, postgres_engine

REALM = "ADP.TEST"


@dataclass(frozen=True)
class KerberizedPostgres:
    port: int
    krb5_conf: Path
    ccache: Path
    user: str


@pytest.fixture(scope="module")
def realm() -> Iterator[Realm]:
    with running_realm(REALM) as realm:
        yield realm


@pytest.fixture(scope="module")
def kerberized_postgres(realm: Realm) -> Iterator[KerberizedPostgres]:
    """Only the superuser without Kerberos; everyone else over GSSAPI encryption only."""
    realm.add_user("alice", "alice-pw")
    keytab = realm.directory / "server.keytab"
    realm.add_service("postgres/127.0.0.1", keytab)
    ccache = realm.directory / "alice.ccache"
    realm.kinit(f"alice@{REALM}", str(ccache))
    with running_postgres(
        hba_lines=[gssapi_hba_line(REALM)],
        host_auth="reject",
        keytab=keytab,
        krb5_config=realm.krb5_conf,
    ) as pg:
        pg.psql("CREATE ROLE alice LOGIN")
        pg.psql("CREATE DATABASE kdata OWNER alice")
        yield KerberizedPostgres(pg.port, realm.krb5_conf, ccache, "alice")


class KbCustomer(ReferenceTable, table=True):
    __tablename__ = "kb_customer"
    customer_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    name: str


def test_kerberos_login_records_the_principal(
    kerberized_postgres: KerberizedPostgres, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = kerberized_postgres
    monkeypatch.setenv("KRB5_CONFIG", str(server.krb5_conf))
    monkeypatch.setenv("KRB5CCNAME", f"FILE:{server.ccache}")
    engine = postgres_engine(
        host="127.0.0.1", port=server.port, database="kdata", user=server.user, kerberos=True
    )
    try:
        with engine.connect() as connection:
            gss = connection.execute(
                text(
                    "SELECT gss_authenticated, encrypted, principal FROM pg_stat_gssapi "
                    "WHERE pid = pg_backend_pid()"
                )
            ).one()
        assert tuple(gss) == (True, True, f"alice@{REALM}")
        deploy(engine, [KbCustomer])
        with Session(engine) as session:
            session.add(KbCustomer(customer_id=1, name="Ada"))
            session.commit()
        with engine.begin() as connection:
            connection.execute(text("UPDATE kb_customer SET name = 'Ada L.'"))
        with Session(engine) as session:
            assert session.get(KbCustomer, 1).changed_by == "alice"  # type: ignore[union-attr]
        with engine.connect() as connection:
            (row,) = connection.execute(history_table(KbCustomer).select()).mappings()
        assert (row["name"], row["changed_by"], row["ended_by"]) == ("Ada", "alice", "alice")
    finally:
        engine.dispose()


def test_without_a_ticket_the_kerberized_server_refuses(
    kerberized_postgres: KerberizedPostgres, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    server = kerberized_postgres
    empty = tmp_path / "empty.ccache"
    empty.write_bytes(b"")
    monkeypatch.setenv("KRB5_CONFIG", str(server.krb5_conf))
    monkeypatch.setenv("KRB5CCNAME", f"FILE:{empty}")
    engine = postgres_engine(
        host="127.0.0.1", port=server.port, database="kdata", user=server.user, kerberos=True
    )
    with pytest.raises(OperationalError, match="GSSAPI encryption required"):
        engine.connect().close()
    engine.dispose()
