"""running_realm: a real MIT KDC (Debian's krb5-kdc) on 127.0.0.1, gone on exit."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from adp_test_servers import ServerUnavailable, kdc
from adp_test_servers.kdc import running_realm, start_realm


def test_a_user_logs_in_with_a_renewable_ticket_and_gets_a_service_ticket(
    tmp_path: Path,
) -> None:
    with running_realm("KDC.TEST") as realm:
        assert realm.krb5_conf.stat().st_mode & 0o044 == 0o044  # readable by other users
        assert f"kdc = 127.0.0.1:{realm.port}" in realm.krb5_conf.read_text()
        principal = realm.add_user("alice", "alice-pw")
        assert principal == "alice@KDC.TEST"
        keytab = tmp_path / "host.keytab"
        assert realm.add_service("host/localhost", keytab) == "host/localhost@KDC.TEST"
        assert keytab.stat().st_size > 0
        ccache = f"FILE:{tmp_path}/alice.ccache"
        realm.kinit(principal, ccache, lifetime="1h", renewable="2h")
        klist = realm.run("klist", ccache=ccache)
        assert "Default principal: alice@KDC.TEST" in klist.stdout, klist.stderr
        assert "renew until" in klist.stdout  # -maxrenewlife on alice and on krbtgt
        assert realm.run("kinit", "-R", ccache=ccache).returncode == 0
        kvno = realm.run("kvno", "host/localhost", ccache=ccache)
        assert kvno.returncode == 0, kvno.stderr
        directory, port = realm.directory, realm.port
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0  # the KDC is stopped
    assert not directory.exists()  # running_realm's own temp dir is deleted


def test_a_given_directory_is_kept(tmp_path: Path) -> None:
    with running_realm("KEPT.TEST", tmp_path / "kdc") as realm:
        assert realm.directory == tmp_path / "kdc"
    assert (tmp_path / "kdc" / "krb5.conf").exists()


def test_missing_kerberos_programs_name_the_debian_packages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kdc, "missing_kerberos_tools", lambda: ["krb5kdc"])
    with pytest.raises(ServerUnavailable, match="apt-get install krb5-kdc krb5-admin-server"):
        start_realm(tmp_path / "kdc")
