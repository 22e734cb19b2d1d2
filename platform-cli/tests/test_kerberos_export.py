"""`adp kerberos export/status` against a real MIT KDC and a real kernel KEYRING cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from adp.cli.main import app
from adp_test_servers.kdc import Realm, running_kcm, running_realm
from typer.testing import CliRunner

pytest.importorskip("krb5", reason="pip install 'platform-cli[kerberos]'")


@pytest.fixture(scope="module")
def realm() -> Iterator[Realm]:
    with running_realm("CLI.TEST") as realm:
        realm.add_user("carol", "carol-password")
        realm.add_service("host/localhost", realm.directory / "host.keytab")
        yield realm


@pytest.fixture
def keyring(realm: Realm, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A KEYRING cache (kernel keyring of this session); skipped where keyrings are blocked."""
    name = f"KEYRING:session:adp-{uuid.uuid4().hex[:8]}"
    for key, value in realm.env().items():
        if key.startswith("KRB5"):
            monkeypatch.setenv(key, value)
    try:
        realm.kinit("carol@CLI.TEST", name, lifetime="1h", renewable="2h")
    except subprocess.CalledProcessError as exc:
        pytest.skip(f"this machine does not allow KEYRING caches: {exc.stderr.strip()}")
    yield name
    realm.run("kdestroy", ccache=name)


def test_export_turns_a_keyring_cache_into_a_working_file_cache(
    realm: Realm, keyring: str, tmp_path: Path
) -> None:
    target = tmp_path / "export" / "krb5cc"
    result = CliRunner().invoke(app, ["kerberos", "export", "--from", keyring, "--to", str(target)])
    assert result.exit_code == 0, result.output
    assert f"exported carol@CLI.TEST's tickets from {keyring} to FILE:{target}" in result.output
    assert target.stat().st_mode & 0o777 == 0o600
    assert target.read_bytes()[:2] == b"\x05\x04"  # a FILE cache, format 4
    klist = realm.run("klist", ccache=f"FILE:{target}")
    assert "Default principal: carol@CLI.TEST" in klist.stdout
    kvno = realm.run("kvno", "host/localhost", ccache=f"FILE:{target}")
    assert kvno.returncode == 0, kvno.stderr
    assert not list(target.parent.glob(".*.tmp"))


def test_export_json_and_status(realm: Realm, keyring: str, tmp_path: Path) -> None:
    target = tmp_path / "krb5cc"
    result = CliRunner().invoke(
        app, ["kerberos", "export", "--from", keyring, "--to", str(target), "--json"]
    )
    data = json.loads(result.output)
    assert data["ok"] and data["principal"] == "carol@CLI.TEST"
    assert data["tgt_expires"] > time.time() + 3000
    status = CliRunner().invoke(app, ["kerberos", "status", "--from", keyring])
    assert status.exit_code == 0 and "principal: carol@CLI.TEST" in status.output
    assert "adp kerberos export" in status.output


def test_without_a_ticket_export_fails_and_says_what_to_run(
    realm: Realm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KRB5_CONFIG", str(realm.krb5_conf))
    target = tmp_path / "krb5cc"
    result = CliRunner().invoke(
        app, ["kerberos", "export", "--from", f"FILE:{tmp_path}/none", "--to", str(target)]
    )
    assert result.exit_code == 1
    assert "run on the host: kinit" in result.output
    assert not target.exists()


def test_watch_follows_kinit_and_kdestroy(realm: Realm, keyring: str, tmp_path: Path) -> None:
    target = tmp_path / "krb5cc"
    env = dict(realm.env(), PYTHONUNBUFFERED="1")
    watcher = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "adp",
            "kerberos",
            "export",
            "--watch",
            "--interval",
            "0.2",
            "--from",
            keyring,
            "--to",
            str(target),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []  # the watcher's output as it comes (it says "removed" after removing)
    assert watcher.stdout is not None
    reader = threading.Thread(target=lambda: lines.extend(watcher.stdout), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 20
        while not target.exists():
            assert time.monotonic() < deadline and watcher.poll() is None
            time.sleep(0.1)
        first = target.read_bytes()
        time.sleep(1.1)
        realm.kinit("carol@CLI.TEST", keyring, lifetime="30m")
        while target.read_bytes() == first:
            assert time.monotonic() < deadline, "a new kinit was not exported"
            time.sleep(0.1)
        realm.run("kdestroy", ccache=keyring)
        while target.exists():
            assert time.monotonic() < deadline, "kdestroy did not remove the export"
            time.sleep(0.1)
        while not any("removed" in line for line in lines):  # printed just after the removal
            assert time.monotonic() < deadline, "the watcher did not say it removed the export"
            time.sleep(0.1)
    finally:
        watcher.terminate()
        watcher.wait(timeout=10)
        reader.join(timeout=10)
    output = "".join(lines)
    assert output.count("exported carol@CLI.TEST") == 2, output
    assert "removed" in output
    assert os.path.exists(target) is False


def test_export_turns_a_kcm_cache_into_a_working_file_cache(realm: Realm, tmp_path: Path) -> None:
    """KCM (sssd-kcm on Fedora/RHEL/Ubuntu): here Heimdal's kcm daemon, MIT's client."""
    with running_kcm(realm) as skip_reason:
        if skip_reason:
            pytest.skip(f"KCM cannot be tested here: {skip_reason}")
        realm.kinit("carol@CLI.TEST", "KCM:")
        try:
            target = tmp_path / "krb5cc"
            result = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "adp",
                    "kerberos",
                    "export",
                    "--from",
                    "KCM:",
                    "--to",
                    str(target),
                ],
                env=realm.env(),
                capture_output=True,
                text=True,
            )
            assert result.returncode == 0, result.stdout + result.stderr
            assert "exported carol@CLI.TEST's tickets from KCM:" in result.stdout
            kvno = realm.run("kvno", "host/localhost", ccache=f"FILE:{target}")
            assert kvno.returncode == 0, kvno.stderr
        finally:
            realm.run("kdestroy", ccache="KCM:")
