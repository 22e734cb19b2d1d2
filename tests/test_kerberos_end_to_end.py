"""Kerberos end to end: host kinit -> ticket sharer (compose) -> Layer-1 container -> database.

A Kerberized PostgreSQL on loopback stands in for SQL Server's Windows authentication:
both accept a GSSAPI login from the TGT in KRB5CCNAME. The datakit side is a container
from the real Layer-1 image, with the platform_kerberos_cache volume mounted read-only
at /krb5/cache and host networking, exactly as a datakit's compose override mounts it.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import docker
import pytest
from adp_test_servers.kdc import Realm, running_kcm, running_realm
from adp_test_servers.platform_stack import (
    host_cache,
    make_platform,
    sharer_container,
    stack_env,
    wait_health,
)
from adp_test_servers.postgres import PostgresCluster, gssapi_hba_line, running_postgres
from adp_test_servers.sharer import SharerProcess
from adp_test_servers.system import traversable_tmpdir
from adp_test_servers.tools import project_tool

REPO = Path(__file__).resolve().parents[1]
BOOTSTRAP = REPO / "platform-bootstrap"
REALM = "E2E.TEST"


@pytest.fixture(scope="module")
def realm() -> Iterator[Realm]:
    with running_realm(REALM) as realm:
        realm.add_user("dana", "dana-password")
        realm.add_service("host/localhost", realm.directory / "host.keytab")
        yield realm


@pytest.fixture(scope="module")
def kerberized_postgres(realm: Realm) -> Iterator[PostgresCluster]:
    """PostgreSQL accepting `dana` only through GSSAPI (no password exists for it)."""
    keytab = realm.directory / "postgres.keytab"
    realm.add_service("postgres/localhost", keytab)
    hba = [
        # Kerberos only, over GSSAPI encryption: the stand-in for Windows authentication.
        gssapi_hba_line(REALM, database="warehouse"),
        # Airflow's own metadata database: a password, and no GSSAPI (gssencmode=disable).
        "hostnogssenc airflow_meta airflow 127.0.0.1/32 scram-sha-256",
    ]
    with running_postgres(
        hba_lines=hba, host_auth="reject", keytab=keytab, krb5_config=realm.krb5_conf
    ) as pg:
        pg.psql("CREATE ROLE dana LOGIN")
        pg.psql("CREATE DATABASE warehouse OWNER dana")
        pg.psql("CREATE ROLE airflow LOGIN PASSWORD 'airflow-meta-password'")
        pg.psql("CREATE DATABASE airflow_meta OWNER airflow")
        yield pg


@pytest.fixture
def platform(realm: Realm) -> Iterator[dict[str, str]]:
    """`make platform-*` settings for a throw-away project, volume and host cache."""
    host_dir = traversable_tmpdir("adp-e2e-host-")
    env = stack_env(
        realm, host_dir, "adpe2e", SHARER_HEALTH_INTERVAL="1s", SHARER_MIN_REMAINING="5"
    )
    yield env
    make_platform(BOOTSTRAP, "platform-clean", env, timeout=120)
    shutil.rmtree(host_dir, ignore_errors=True)


def make(target: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return make_platform(BOOTSTRAP, target, env)


CONNECT = """
import sys, psycopg2
try:
    conn = psycopg2.connect(host="localhost", port=int(sys.argv[1]), dbname="warehouse",
                            user="dana", gssencmode="require", connect_timeout=10)
except psycopg2.OperationalError as exc:
    print("FAILED:", " ".join(str(exc).split()))
    sys.exit(3)
cur = conn.cursor()
cur.execute("SELECT current_user, principal, gss_authenticated, encrypted "
            "FROM pg_stat_gssapi WHERE pid = pg_backend_pid()")
print("CONNECTED:", *cur.fetchone())
"""

METADATA = """
import sys, psycopg2
conn = psycopg2.connect(host="localhost", port=int(sys.argv[1]), dbname="airflow_meta",
                        user="airflow", password="airflow-meta-password", gssencmode="disable")
cur = conn.cursor()
cur.execute("SELECT current_user, gss_authenticated FROM pg_stat_gssapi "
            "WHERE pid = pg_backend_pid()")
print("METADATA:", *cur.fetchone())
"""


def in_datakit(
    client: docker.DockerClient,
    image: str,
    env: dict[str, str],
    realm: Realm,
    script: str,
    port: int,
    **extra_env: str,
) -> tuple[int, str]:
    """Run a Python snippet in a Layer-1 container as a datakit would: volume read-only."""
    container = client.containers.run(
        image,
        entrypoint=["python", "-c", script, str(port)],
        command=[],
        network_mode="host",
        # The test realm's krb5.conf, not the image's example one.
        environment={"KRB5_CONFIG": "/krb5/conf/krb5.conf", **extra_env},
        volumes={
            env["KERBEROS_CACHE_VOLUME"]: {"bind": "/krb5/cache", "mode": "ro"},
            str(realm.krb5_conf.parent): {"bind": "/krb5/conf", "mode": "ro"},
        },
        detach=True,
    )
    try:
        status = container.wait(timeout=60)["StatusCode"]
        return status, container.logs().decode()
    finally:
        container.remove(force=True)


RunInDatakit = Callable[..., tuple[int, str]]


@pytest.fixture
def datakit(
    docker_client: docker.DockerClient,
    layer1_image: str,
    realm: Realm,
    kerberized_postgres: PostgresCluster,
    platform: dict[str, str],
) -> RunInDatakit:
    """`datakit(script, **env)`: :func:`in_datakit` against this test's stack and database."""

    def run(script: str, **extra_env: str) -> tuple[int, str]:
        return in_datakit(
            docker_client,
            layer1_image,
            platform,
            realm,
            script,
            kerberized_postgres.port,
            **extra_env,
        )

    return run


def start_platform(
    client: docker.DockerClient, realm: Realm, platform: dict[str, str], lifetime: str
) -> tuple[Path, docker.models.containers.Container]:
    """kinit dana on the "host" for `lifetime`, `make platform-start`, wait until healthy;
    return the host cache and the sharer container."""
    cache = host_cache(platform)
    realm.kinit("dana@E2E.TEST", f"FILE:{cache}", lifetime=lifetime)
    started = make("platform-start", platform)
    assert started.returncode == 0, started.stdout + started.stderr
    sharer = sharer_container(client, platform)
    wait_health(sharer, "healthy")
    return cache, sharer


@pytest.mark.docker
def test_datakit_logs_in_with_the_shared_ticket_and_fails_clearly_after_kdestroy(
    docker_client: docker.DockerClient,
    realm: Realm,
    platform: dict[str, str],
    datakit: RunInDatakit,
) -> None:
    cache, sharer = start_platform(docker_client, realm, platform, lifetime="1h")

    code, out = datakit(CONNECT)
    assert code == 0, out
    assert "CONNECTED: dana dana@E2E.TEST True True" in out  # user, principal, gss, encrypted
    # The metadata database connection must not try Kerberos at all.
    code, out = datakit(METADATA)
    assert code == 0 and "METADATA: airflow False" in out, out
    # Container-wide PGGSSENCMODE=disable keeps every other libpq connection off GSSAPI,
    # while a connection that asks for gssencmode=require still gets Kerberos.
    code, out = datakit(METADATA.replace(', gssencmode="disable"', ""), PGGSSENCMODE="disable")
    assert code == 0 and "METADATA: airflow False" in out, out
    code, out = datakit(CONNECT, PGGSSENCMODE="disable")
    assert code == 0 and "CONNECTED: dana dana@E2E.TEST True True" in out, out

    realm.run("kdestroy", ccache=f"FILE:{cache}")
    last = wait_health(sharer, "unhealthy", timeout=30)
    assert "run on the host: kinit dana@E2E.TEST" in last, last
    code, out = datakit(CONNECT)
    assert code == 3, out
    assert "FAILED: GSSAPI encryption required but no credential cache" in out, out
    logs = sharer.logs().decode()
    assert "is gone (kdestroy?): removed the shared ticket" in logs


@pytest.mark.docker
def test_an_expired_host_ticket_is_not_refreshed_and_the_login_fails_clearly(
    docker_client: docker.DockerClient,
    realm: Realm,
    platform: dict[str, str],
    datakit: RunInDatakit,
) -> None:
    _, sharer = start_platform(docker_client, realm, platform, lifetime="25s")  # not renewable
    code, out = datakit(CONNECT)
    assert code == 0 and "dana@E2E.TEST" in out, out

    last = wait_health(sharer, "unhealthy", timeout=45)
    assert "kinit dana@E2E.TEST" in last, last
    time.sleep(3)  # past the test realm's 2 s clock skew
    code, out = datakit(CONNECT)
    print(f"datakit after expiry: {out.strip()}")
    assert code == 3, out
    assert "expired" in out.lower(), out
    logs = sharer.logs().decode()
    assert "shared ticket for dana@E2E.TEST expired at" in logs
    assert logs.count("shared ticket for dana@E2E.TEST (") == 1, "the expired ticket was re-shared"

    status = make("platform-status", platform)
    assert "UNHEALTHY" in status.stdout and "kinit dana@E2E.TEST" in status.stdout, status.stdout


@pytest.mark.parametrize("cache_type", ["KEYRING", "KCM"])
def test_a_kcm_or_keyring_cache_exported_by_adp_is_shared_and_authenticates(
    realm: Realm, tmp_path: Path, cache_type: str
) -> None:
    """KCM / KEYRING cache -> `adp kerberos export` -> sharer process -> usable copy."""
    pytest.importorskip("krb5", reason="pip install 'platform-cli[kerberos]'")
    adp = project_tool("adp")
    with contextlib.ExitStack() as stack:
        if cache_type == "KCM":
            skip_reason = stack.enter_context(running_kcm(realm))
            if skip_reason:
                pytest.skip(f"KCM cannot be tested here: {skip_reason}")
            cache = "KCM:"
        else:
            cache = f"KEYRING:session:adp-e2e-{uuid.uuid4().hex[:8]}"
        try:
            realm.kinit("dana@E2E.TEST", cache)
        except subprocess.CalledProcessError as exc:
            pytest.skip(f"{cache_type} caches are not allowed here: {exc.stderr.strip()}")
        stack.callback(realm.run, "kdestroy", ccache=cache)
        _export_and_share(realm, tmp_path, adp, cache)


def _export_and_share(realm: Realm, tmp_path: Path, adp: str, cache: str) -> None:
    exported = traversable_tmpdir("adp-e2e-export-") / "krb5cc"
    export = subprocess.run(
        [adp, "kerberos", "export", "--from", cache, "--to", str(exported)],
        env=realm.env(),
        capture_output=True,
        text=True,
    )
    assert export.returncode == 0, export.stdout + export.stderr
    volume = tmp_path / "volume"
    env = dict(
        realm.env(),
        SHARER_SOURCE_CCACHE=f"FILE:{exported}",
        SHARER_TARGET_DIR=str(volume),
        SHARER_STATE_DIR=str(tmp_path / "state"),
        SHARER_POLL_INTERVAL="0.5",
        PYTHONPATH=str(BOOTSTRAP / "kerberos-ticket-sharer" / "src"),
    )
    sharer = SharerProcess.start(env, tmp_path / "sharer.log", volume / "krb5cc")
    try:
        sharer.wait_for(sharer.target.exists, what="the shared copy of the export")
        klist = realm.run("klist", ccache=f"FILE:{sharer.target}")
        assert "Default principal: dana@E2E.TEST" in klist.stdout, klist.stderr
        kvno = realm.run("kvno", "host/localhost", ccache=f"FILE:{sharer.target}")
        assert kvno.returncode == 0, kvno.stderr
    finally:
        sharer.stop()
    shutil.rmtree(exported.parent, ignore_errors=True)
