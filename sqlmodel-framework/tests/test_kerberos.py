"""Kerberos end to end: a throw-away MIT KDC and a Kerberized PostgreSQL on loopback.
postgres_engine(kerberos=True) logs in with the ticket in KRB5CCNAME over an encrypted GSSAPI
connection, and the history triggers record the principal's role as who changed the row."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Field, Session
from sqlmodel_framework import ReferenceTable, deploy, history_table, postgres_engine

REALM = "ADP.TEST"
TOOLS = ("krb5kdc", "kdb5_util", "kadmin.local", "kinit")
SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/bin"])


@dataclass(frozen=True)
class KerberizedPostgres:
    port: int
    krb5_conf: Path
    ccache: Path
    user: str


def _tool(name: str) -> str:
    path = shutil.which(name, path=SEARCH_PATH)
    if path is None:
        pytest.fail(
            f"MIT Kerberos program '{name}' not found: install Debian's krb5-kdc, "
            "krb5-admin-server and krb5-user packages",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="module")
def kerberized_postgres(
    postgres_starter: Callable[..., Any], free_port: Callable[[], int]
) -> Iterator[KerberizedPostgres]:
    tools = {name: _tool(name) for name in TOOLS}
    realm_dir = Path(tempfile.mkdtemp(prefix="adp-krbtest-"))
    realm_dir.chmod(0o755)
    kdc_port = free_port()
    krb5_conf, kdc_conf = realm_dir / "krb5.conf", realm_dir / "kdc.conf"
    krb5_conf.write_text(
        f"[libdefaults]\n default_realm = {REALM}\n dns_lookup_kdc = false\n"
        " dns_canonicalize_hostname = false\n rdns = false\n udp_preference_limit = 1\n"
        f"[realms]\n {REALM} = {{\n  kdc = 127.0.0.1:{kdc_port}\n }}\n"
    )
    krb5_conf.chmod(0o644)
    kdc_conf.write_text(
        f"[kdcdefaults]\n kdc_ports = {kdc_port}\n kdc_tcp_ports = {kdc_port}\n"
        f"[realms]\n {REALM} = {{\n  database_name = {realm_dir}/principal\n"
        f"  key_stash_file = {realm_dir}/stash\n }}\n"
    )
    env = {
        **os.environ,
        "KRB5_CONFIG": str(krb5_conf),
        "KRB5_KDC_PROFILE": str(kdc_conf),
    }
    env.pop("KRB5CCNAME", None)

    def run(*args: str, stdin: str | None = None, attempts: int = 1) -> None:
        for _ in range(attempts):
            result = subprocess.run(
                list(args), env=env, input=stdin, capture_output=True, text=True, check=False
            )
            if result.returncode == 0:
                return
            time.sleep(0.2)
        if result.returncode != 0:
            pytest.fail(f"{' '.join(args)} failed:\n{result.stdout}{result.stderr}", pytrace=False)

    kdc: subprocess.Popen[bytes] | None = None
    try:
        run(tools["kdb5_util"], "create", "-s", "-r", REALM, "-P", "master-key-for-tests")
        run(tools["kadmin.local"], "-r", REALM, "-q", "addprinc -pw alice-pw alice")
        run(tools["kadmin.local"], "-r", REALM, "-q", "addprinc -randkey postgres/127.0.0.1")
        keytab = realm_dir / "server.keytab"
        run(tools["kadmin.local"], "-r", REALM, "-q", f"ktadd -k {keytab} postgres/127.0.0.1")
        kdc = subprocess.Popen([tools["krb5kdc"], "-n"], env=env)
        ccache = realm_dir / "alice.ccache"
        # The KDC needs a moment to listen: retry for up to 10 s.
        run(tools["kinit"], "-c", str(ccache), "alice", stdin="alice-pw\n", attempts=50)

        def place_keytab(root: Path, uid: int | None, gid: int | None) -> None:
            target = root / "server.keytab"
            shutil.copy(keytab, target)
            target.chmod(0o600)
            if uid is not None and gid is not None:
                os.chown(target, uid, gid)

        hba = [
            "hostnogssenc all postgres 127.0.0.1/32 trust",
            f"hostgssenc all all 127.0.0.1/32 gss include_realm=0 krb_realm={REALM}",
            "host all all 127.0.0.1/32 reject",
        ]
        with postgres_starter(
            hba_lines=hba,
            settings={"krb_server_keyfile": "../server.keytab"},
            environment={"KRB5_CONFIG": str(krb5_conf)},
            prepare=place_keytab,
        ) as port:
            admin = create_engine(
                f"postgresql+psycopg2://postgres@127.0.0.1:{port}/postgres?gssencmode=disable",
                isolation_level="AUTOCOMMIT",
            )
            with admin.connect() as connection:
                connection.execute(text("CREATE ROLE alice LOGIN"))
                connection.execute(text("CREATE DATABASE kdata OWNER alice"))
            admin.dispose()
            yield KerberizedPostgres(port, krb5_conf, ccache, "alice")
    finally:
        if kdc is not None:
            kdc.terminate()
            kdc.wait(timeout=10)
        shutil.rmtree(realm_dir, ignore_errors=True)


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
