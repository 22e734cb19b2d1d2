"""A throw-away PostgreSQL cluster on 127.0.0.1:<free port>, removed on exit.

    with running_postgres(hba_lines=["host all app 127.0.0.1/32 scram-sha-256"]) as pg:
        pg.psql("CREATE ROLE app LOGIN PASSWORD 'secret'")
        engine = create_engine(pg.url(user="app", password="secret"))

The cluster runs Debian's server binaries (initdb, pg_ctl) as the ``postgres`` system user
when the caller is root (PostgreSQL refuses to run as root), as the caller otherwise. Its
directory, socket included, is a new temp dir owned by that user; everything is stopped and
deleted on exit. Durability is off (fsync, synchronous_commit): nothing here must survive.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from adp_test_servers import ServerUnavailable
from adp_test_servers.ports import free_port

HOST = "127.0.0.1"
SUPERUSER = "postgres"
_INSTALL = "install Debian's 'postgresql' package (apt-get install postgresql)"


def find_bindir(bindir: str | os.PathLike[str] | None = None) -> Path:
    """The directory holding initdb: `bindir` if given, else $ADP_PG_BINDIR, else the newest
    /usr/lib/postgresql/*/bin."""
    if bindir is not None:
        candidates = [str(bindir)]
    else:
        candidates = [os.environ.get("ADP_PG_BINDIR", "")]
        candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").exists():
            return Path(candidate)
    searched = ", ".join(c for c in candidates if c) or "/usr/lib/postgresql/*/bin"
    raise ServerUnavailable(
        f"PostgreSQL server binaries (initdb, pg_ctl) not found in {searched}: {_INSTALL} "
        "or set ADP_PG_BINDIR to the directory holding initdb"
    )


def server_account() -> tuple[list[str], int | None, int | None]:
    """(command prefix, uid, gid) to run server programs with: `runuser -u postgres` as root."""
    if os.geteuid() != 0:
        return [], None, None
    try:
        account = pwd.getpwnam(SUPERUSER)
    except KeyError:
        raise ServerUnavailable(
            "running as root, but there is no 'postgres' system user to run the test server "
            f"as: {_INSTALL} (it creates the user) or run as non-root"
        ) from None
    return ["runuser", "-u", SUPERUSER, "--"], account.pw_uid, account.pw_gid


def gssapi_hba_line(realm: str, database: str = "all", user: str = "all") -> str:
    """A pg_hba.conf line: `user` may log in to `database` from 127.0.0.1 only with a
    Kerberos ticket of `realm`, over GSSAPI encryption, as the principal's bare name."""
    return f"hostgssenc {database} {user} {HOST}/32 gss include_realm=0 krb_realm={realm}"


@dataclass(frozen=True)
class PostgresCluster:
    """A running cluster: TCP on `host`:`port`; data, log and Unix socket in `directory`."""

    host: str
    port: int
    directory: Path
    bindir: Path
    run_prefix: tuple[str, ...]
    superuser: str = SUPERUSER

    @property
    def socket_dir(self) -> Path:
        return self.directory

    @property
    def data_dir(self) -> Path:
        return self.directory / "data"

    @property
    def log_path(self) -> Path:
        return self.directory / "server.log"

    def url(
        self,
        database: str = "postgres",
        *,
        user: str = SUPERUSER,
        password: str | None = None,
        driver: str = "postgresql",
        **query: str,
    ) -> str:
        """A SQLAlchemy/libpq URL to `database` over TCP (`query` adds ?key=value options)."""
        credentials = quote(user, safe="")
        if password is not None:
            credentials += ":" + quote(password, safe="")
        options = "&".join(f"{key}={value}" for key, value in query.items())
        url = f"{driver}://{credentials}@{self.host}:{self.port}/{database}"
        return f"{url}?{options}" if options else url

    @property
    def superuser_url(self) -> str:
        """The superuser over TCP, trusted, never trying GSSAPI (gssencmode=disable)."""
        return self.url(gssencmode="disable")

    def run(self, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
        """Run a program as the server's user (e.g. one of `bindir`'s), output captured."""
        result = subprocess.run(
            [*self.run_prefix, *args],
            cwd=self.directory,
            capture_output=True,
            text=True,
            check=False,
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed:\n{result.stdout}{result.stderr}")
        return result

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run `sql` as the superuser over the Unix socket; its rows, unaligned (-At).
        Raises RuntimeError with psql's message when a statement fails."""
        return self.run(
            str(self.bindir / "psql"), "-h", str(self.socket_dir), "-p", str(self.port),
            "-U", self.superuser, "-d", database, "-v", "ON_ERROR_STOP=1", "-Atc", sql,
            check=True,
        ).stdout  # fmt: skip


@contextmanager
def running_postgres(
    *,
    hba_lines: Sequence[str] = (),
    host_auth: str = "trust",
    keytab: Path | None = None,
    krb5_config: Path | None = None,
    settings: Mapping[str, str] | None = None,
    bindir: str | os.PathLike[str] | None = None,
) -> Iterator[PostgresCluster]:
    """Start a throw-away cluster and yield it; stop it and delete its directory on exit.

    pg_hba.conf is `hba_lines`, then the superuser's doors (``local`` and ``host`` from
    127.0.0.1, trust: :meth:`psql`, :attr:`superuser_url`), then ``host all all 127.0.0.1/32
    <host_auth>`` for every other TCP login ("trust" by default; "reject" to allow only what
    `hba_lines` allow). `keytab` is copied into the
    cluster's directory as its krb_server_keyfile (GSSAPI logins, see :func:`gssapi_hba_line`);
    `krb5_config` becomes the server's KRB5_CONFIG. `settings` go into postgresql.conf.
    """
    binaries = find_bindir(bindir)
    prefix, uid, gid = server_account()
    root = Path(tempfile.mkdtemp(prefix="adp-pgtest-"))
    if uid is not None and gid is not None:
        os.chown(root, uid, gid)
    server_env = ["env", f"KRB5_CONFIG={krb5_config}"] if krb5_config is not None else []
    cluster = PostgresCluster(HOST, free_port(), root, binaries, (*prefix, *server_env))
    data, log = cluster.data_dir, cluster.log_path
    try:
        result = cluster.run(
            str(binaries / "initdb"), "-D", str(data), "-A", "trust", "-U", SUPERUSER,
            "-E", "UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip
        if result.returncode != 0:
            raise ServerUnavailable(f"initdb failed:\n{result.stdout}\n{result.stderr}")
        options = {
            "listen_addresses": HOST,
            "port": str(cluster.port),
            "unix_socket_directories": str(root),
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
        }
        if keytab is not None:
            target = root / "server.keytab"
            shutil.copy(keytab, target)
            target.chmod(0o600)
            if uid is not None and gid is not None:
                os.chown(target, uid, gid)
            options["krb_server_keyfile"] = f"FILE:{target}"
        options.update(settings or {})
        with (data / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{key} = '{value}'\n" for key, value in options.items())
        rules = [
            *hba_lines,
            f"local all {SUPERUSER} trust",
            f"host all {SUPERUSER} {HOST}/32 trust",
            f"host all all {HOST}/32 {host_auth}",
        ]
        (data / "pg_hba.conf").write_text("".join(f"{line}\n" for line in rules))
        result = cluster.run(
            str(binaries / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60", "start"
        )
        if result.returncode != 0:
            server_log = log.read_text() if log.exists() else ""
            raise ServerUnavailable(f"PostgreSQL did not start:\n{result.stderr}\n{server_log}")
        try:
            yield cluster
        finally:
            cluster.run(str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(root, ignore_errors=True)
