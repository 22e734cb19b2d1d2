"""running_postgres: a real cluster (Debian's initdb/pg_ctl) on 127.0.0.1, gone on exit."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest
from adp_test_servers import ServerUnavailable
from adp_test_servers.kdc import running_realm
from adp_test_servers.postgres import find_bindir, gssapi_hba_line, running_postgres


def psql_tcp(cluster, conninfo: str, sql: str, **env: str) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    """psql over TCP as the caller (not as the server's user), like any client."""
    return subprocess.run(
        [str(cluster.bindir / "psql"), conninfo, "-v", "ON_ERROR_STOP=1", "-Atc", sql],
        env={**os.environ, "PGCONNECT_TIMEOUT": "10", **env},
        capture_output=True,
        text=True,
        check=False,
    )


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_a_cluster_runs_on_loopback_and_is_removed_on_exit() -> None:
    with running_postgres() as pg:
        assert pg.host == "127.0.0.1"
        assert listening(pg.port)
        assert pg.psql("SELECT 40 + 2") == "42\n"
        assert pg.psql("SHOW listen_addresses") == "127.0.0.1\n"
        superuser = psql_tcp(pg, pg.superuser_url, "SELECT current_user")
        assert superuser.stdout == "postgres\n", superuser.stderr
        assert (pg.socket_dir / f".s.PGSQL.{pg.port}").exists()
        directory = pg.directory
    assert not listening(pg.port)
    assert not directory.exists()


def test_hba_lines_come_first_and_host_auth_rejects_everyone_else() -> None:
    hba = ["host all app 127.0.0.1/32 scram-sha-256"]
    with running_postgres(hba_lines=hba, host_auth="reject") as pg:
        pg.psql("CREATE ROLE app LOGIN PASSWORD 'app-pw'; CREATE ROLE other LOGIN")
        good = psql_tcp(pg, pg.url(user="app"), "SELECT current_user", PGPASSWORD="app-pw")
        assert good.stdout == "app\n", good.stderr
        wrong = psql_tcp(pg, pg.url(user="app"), "SELECT 1", PGPASSWORD="wrong")
        assert "password authentication failed" in wrong.stderr
        other = psql_tcp(pg, pg.url(user="other", gssencmode="disable"), "SELECT 1")
        assert "rejects connection" in other.stderr


def test_psql_raises_with_the_servers_message() -> None:
    with running_postgres() as pg, pytest.raises(RuntimeError, match="no_such_table"):
        pg.psql("SELECT * FROM no_such_table")


def test_a_keytab_and_a_gssapi_line_let_a_kerberos_user_in_without_a_password(
    tmp_path: Path,
) -> None:
    with running_realm("PG.TEST") as realm:
        principal = realm.add_user("alice", "alice-pw")
        keytab = realm.directory / "postgres.keytab"
        realm.add_service("postgres/127.0.0.1", keytab)
        ccache = f"FILE:{tmp_path}/alice.ccache"
        realm.kinit(principal, ccache)
        with running_postgres(
            hba_lines=[gssapi_hba_line("PG.TEST")],
            host_auth="reject",
            keytab=keytab,
            krb5_config=realm.krb5_conf,
        ) as pg:
            pg.psql("CREATE ROLE alice LOGIN")
            sql = "SELECT principal, encrypted FROM pg_stat_gssapi WHERE pid = pg_backend_pid()"
            url = pg.url(user="alice", gssencmode="require")
            login = psql_tcp(pg, url, sql, **realm.env(ccache))
            assert login.stdout == "alice@PG.TEST|t\n", login.stderr
            no_ticket = psql_tcp(pg, url, "SELECT 1", **realm.env())
            assert no_ticket.returncode != 0


def test_missing_server_binaries_name_the_debian_package(tmp_path: Path) -> None:
    with pytest.raises(ServerUnavailable, match=r"apt-get install postgresql"):
        find_bindir(tmp_path)
    with pytest.raises(ServerUnavailable, match=r"apt-get install postgresql"):
        running_postgres(bindir=tmp_path).__enter__()
