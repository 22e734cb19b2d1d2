"""A throw-away MIT Kerberos realm on loopback: a real KDC (Debian's krb5-kdc) on
127.0.0.1:<free port>, its database and config files in one directory.

    with running_realm("ADP.TEST") as realm:
        principal = realm.add_user("alice", "alice-password")     # renewable for 7 days
        realm.add_service("host/localhost", keytab_path)          # random key, in a keytab
        realm.kinit(principal, "FILE:/tmp/alice.ccache")          # password on stdin
        subprocess.run(["klist"], env=realm.env("FILE:/tmp/alice.ccache"))

Nothing here needs root beyond file access. A KCM daemon for KCM: caches: running_kcm.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from adp_test_servers import ServerUnavailable
from adp_test_servers.ports import free_port
from adp_test_servers.system import stop, traversable_tmpdir

KDC_BINARIES = ("krb5kdc", "kdb5_util", "kadmin.local", "kinit", "klist", "kvno", "kdestroy")


def missing_kerberos_tools() -> list[str]:
    """Names of the MIT Kerberos programs this module needs that are not on PATH."""
    extra = ("/usr/sbin", "/usr/bin")
    path = os.pathsep.join([os.environ.get("PATH", ""), *extra])
    return [name for name in KDC_BINARIES if shutil.which(name, path=path) is None]


@dataclass
class Realm:
    """A running KDC for `name` on 127.0.0.1:`port`, configured by the files in `directory`."""

    name: str
    directory: Path
    port: int
    krb5_conf: Path
    kdc_conf: Path
    passwords: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    def env(self, ccache: str | os.PathLike[str] | None = None) -> dict[str, str]:
        """Environment for a Kerberos client of this realm (optionally with KRB5CCNAME)."""
        env = dict(os.environ)
        env["KRB5_CONFIG"] = str(self.krb5_conf)
        env["KRB5_KDC_PROFILE"] = str(self.kdc_conf)
        env["PATH"] = os.pathsep.join([env.get("PATH", ""), "/usr/sbin", "/usr/bin"])
        env.pop("KRB5CCNAME", None)
        if ccache is not None:
            env["KRB5CCNAME"] = str(ccache)
        return env

    def kadmin(self, query: str) -> str:
        result = subprocess.run(
            ["kadmin.local", "-r", self.name, "-q", query],
            env=self.env(),
            capture_output=True,
            text=True,
            check=True,
        )
        return result.stdout

    def add_user(self, name: str, password: str, *, max_renew: str = "7d") -> str:
        """Create `name@REALM` with a password and renewable tickets; return the principal."""
        self.kadmin(f"addprinc -pw {password} -maxrenewlife {max_renew} {name}")
        principal = f"{name}@{self.name}"
        self.passwords[principal] = password
        return principal

    def add_service(self, name: str, keytab: Path) -> str:
        """Create a service principal with a random key and write its key to `keytab`."""
        self.kadmin(f"addprinc -randkey {name}")
        self.kadmin(f"ktadd -k {keytab} {name}")
        return f"{name}@{self.name}"

    def user_keytab(self, principal: str, keytab: Path) -> Path:
        """Write `principal`'s current keys to `keytab` without changing its password."""
        self.kadmin(f"ktadd -norandkey -k {keytab} {principal}")
        return keytab

    def kinit(
        self,
        principal: str,
        ccache: str,
        *,
        lifetime: str | None = None,
        renewable: str | None = None,
        via_env: bool = False,
    ) -> None:
        """`kinit` with the principal's password on stdin, exactly as a user would.

        With `via_env`, the cache is given as KRB5CCNAME instead of `-c`: for a `DIR:`
        collection kinit then picks (or creates) the principal's own cache and makes it
        the primary one, as on a developer's machine.
        """
        args = ["kinit"]
        if lifetime:
            args += ["-l", lifetime]
        if renewable:
            args += ["-r", renewable]
        args += [principal] if via_env else ["-c", ccache, principal]
        subprocess.run(
            args,
            input=self.passwords[principal] + "\n",
            env=self.env(ccache if via_env else None),
            capture_output=True,
            text=True,
            check=True,
        )

    def run(self, *args: str, ccache: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run a Kerberos client program against this realm; never raises on failure."""
        return subprocess.run(
            list(args), env=self.env(ccache), capture_output=True, text=True, check=False
        )

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)


def write_krb5_conf(path: Path, realm: str, port: int) -> Path:
    """A client krb5.conf whose only KDC is 127.0.0.1:`port` (also used in containers)."""
    path.write_text(
        f"""[libdefaults]
    default_realm = {realm}
    dns_lookup_realm = false
    dns_lookup_kdc = false
    dns_canonicalize_hostname = false
    rdns = false
    forwardable = true
    udp_preference_limit = 1
    # MIT's default 300 s skew lets a KDC accept a TGT five minutes past its end; a
    # throw-away realm wants expiry to show within seconds.
    clockskew = 2

[realms]
    {realm} = {{
        kdc = 127.0.0.1:{port}
        admin_server = 127.0.0.1:{port}
    }}

[domain_realm]
    localhost = {realm}
    .localhost = {realm}
"""
    )
    path.chmod(0o644)
    return path


def start_realm(directory: Path, name: str = "ADP.TEST", *, max_life: str = "10h") -> Realm:
    """Create a realm database in `directory` and start its KDC in the foreground (`-n`);
    stop it with :meth:`Realm.stop`. Users' tickets last `max_life`, renewable for 7 days."""
    missing = missing_kerberos_tools()
    if missing:
        raise ServerUnavailable(
            f"MIT Kerberos tools missing: {', '.join(missing)}; "
            "run: apt-get install krb5-kdc krb5-admin-server krb5-user"
        )
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o755)
    port = free_port()
    kdc_conf = directory / "kdc.conf"
    _write_kdc_conf(kdc_conf, directory, name, port, max_life)
    (directory / "kadm5.acl").write_text("")
    krb5_conf = write_krb5_conf(directory / "krb5.conf", name, port)
    realm = Realm(name=name, directory=directory, port=port, krb5_conf=krb5_conf, kdc_conf=kdc_conf)
    subprocess.run(
        ["kdb5_util", "create", "-s", "-r", name, "-P", "throwaway-master-key"],
        env=realm.env(),
        capture_output=True,
        check=True,
    )
    realm.kadmin(f"modprinc -maxlife {max_life} -maxrenewlife 7d krbtgt/{name}@{name}")
    # free_port checks 127.0.0.1, krb5kdc binds every address: another process (a container's
    # published port) can hold the port elsewhere or take it in between. Then krb5kdc exits at
    # once; start it again on another port (the database does not depend on the port).
    for attempt in range(3):
        if attempt:
            realm.port = free_port()
            _write_kdc_conf(kdc_conf, directory, name, realm.port, max_life)
            write_krb5_conf(krb5_conf, name, realm.port)
        if _start_kdc(realm):
            return realm
    log = directory / "krb5kdc.stdout"
    tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
    raise ServerUnavailable(
        f"krb5kdc did not start on 127.0.0.1 in 3 attempts; its output:\n{tail}"
    )


def _write_kdc_conf(kdc_conf: Path, directory: Path, name: str, port: int, max_life: str) -> None:
    kdc_conf.write_text(
        f"""[kdcdefaults]
    kdc_ports = {port}
    kdc_tcp_ports = {port}

[realms]
    {name} = {{
        database_name = {directory}/principal
        key_stash_file = {directory}/stash
        acl_file = {directory}/kadm5.acl
        max_life = {max_life}
        max_renewable_life = 7d
        supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
    }}

[logging]
    kdc = FILE:{directory}/kdc.log
"""
    )


def _start_kdc(realm: Realm) -> bool:
    """Start krb5kdc for ``realm``; True once it listens, False if it exited at start-up."""
    log = (realm.directory / "krb5kdc.stdout").open("ab")
    realm.process = subprocess.Popen(
        ["krb5kdc", "-n", "-r", realm.name, "-P", str(realm.directory / "krb5kdc.pid")],
        env=realm.env(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if realm.process.poll() is not None:
            return False
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", realm.port), 0.5):
            return True
        time.sleep(0.05)
    realm.stop()
    raise ServerUnavailable(f"krb5kdc did not listen on 127.0.0.1:{realm.port} within 15 s")


@contextlib.contextmanager
def running_realm(name: str = "ADP.TEST", directory: Path | None = None) -> Iterator[Realm]:
    """:func:`start_realm` in `directory`, or in a new temp dir that other users (a
    PostgreSQL server, a container) can read and that is deleted on exit; stopped on exit."""
    owned = traversable_tmpdir("adp-realm-") if directory is None else None
    try:
        realm = start_realm(directory or owned / "kdc", name)  # type: ignore[operator]
        try:
            yield realm
        finally:
            realm.stop()
    finally:
        if owned is not None:
            shutil.rmtree(owned, ignore_errors=True)


KCM_SOCKET = Path("/var/run/.heim_org.h5l.kcm-socket")


def _socket_alive(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(str(path))
        except OSError:
            return False
    return True


@contextlib.contextmanager
def running_kcm(realm: Realm) -> Iterator[str | None]:
    """A KCM daemon (Heimdal's `kcm`, which MIT clients speak to) for `KCM:` caches.

    Yields None, with the reason logged nowhere, when KCM cannot be tested here: the
    daemon is not installed (apt-get install heimdal-kcm) or another KCM daemon already
    owns the system socket (it is never touched: it may hold someone's real tickets).
    """
    binary = shutil.which("kcm", path="/usr/sbin:/usr/bin")
    if binary is None:
        yield "heimdal-kcm is not installed (apt-get install heimdal-kcm)"
        return
    if KCM_SOCKET.exists() and _socket_alive(KCM_SOCKET):
        yield f"another KCM daemon already listens on {KCM_SOCKET}"
        return
    KCM_SOCKET.unlink(missing_ok=True)  # stale: nobody listens
    process = subprocess.Popen(
        [binary, "-c", str(realm.krb5_conf)],
        env=realm.env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not _socket_alive(KCM_SOCKET):
            if process.poll() is not None or time.monotonic() > deadline:
                yield f"kcm did not start (exit status {process.poll()})"
                return
            time.sleep(0.05)
        yield None
    finally:
        stop(process)
        KCM_SOCKET.unlink(missing_ok=True)
