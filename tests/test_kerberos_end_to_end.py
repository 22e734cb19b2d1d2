"""Kerberos end to end: host kinit -> ticket sharer (compose) -> datakit -> database.

A Kerberized PostgreSQL stands in for SQL Server's Windows authentication: both accept a
GSSAPI login from the ticket in KRB5CCNAME. Two views of the datakit side:
- the daily loop: examples/kerberos-postgres (generated with kerberos=true and
  warehouse=postgres) runs in the Astro-shaped stack with its docker-compose.override.yml
  and a `.env` connection holding only host, database and role, as its README's tutorial
  sets it up (the stack is started by test-support, the sharer by `make platform-start`
  with the test realm's settings); the shared ticket is in all four
  Airflow services, and the example DAG, triggered through the REST API, loads the
  Kerberized warehouse (a PostgreSQL container on the stack's network) as the user;
- the failure modes: a container from the Layer-1 image on the host network, with the
  platform_kerberos_cache volume mounted read-only as the override mounts it, against a
  Kerberized PostgreSQL on loopback, through kdestroy and expiry.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import docker
import pytest
import yaml
from adp import facts
from adp.dev.postgres import resolve_postgres_image
from adp_test_servers.airflow_stack import AirflowStack, running_airflow_stack
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
from adp_test_support import build_datakit, copy_example

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
    # No expired ticket is shared: the copy was removed, so the datakit has no ticket at all.
    assert "no credential cache" in out.lower(), out
    logs = sharer.logs().decode()
    assert "shared ticket for dana@E2E.TEST expired at" in logs
    assert "removed it from the shared volume" in logs
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


# -- the daily loop: the datakit's Airflow stack with the Kerberos override ---------------
KIT = "kerberos-postgres"  # examples/kerberos-postgres
KIT_PACKAGE = KIT.replace("-", "_")
WAREHOUSE = "warehouse"  # the Kerberized PostgreSQL's service name on the stack's network

# The containers' Kerberos configuration for the test realm. They reach no KDC (the KDC
# listens on the host's loopback only), so the host fetched the warehouse's service ticket
# before sharing: what the task uses is exactly what the sharer put into the volume.
CONTAINER_KRB5_CONF = f"""[libdefaults]
    default_realm = {REALM}
    dns_lookup_kdc = false
    dns_lookup_realm = false
    dns_canonicalize_hostname = false
    rdns = false
[realms]
    {REALM} = {{
        kdc = 127.0.0.1:1
    }}
[domain_realm]
    {WAREHOUSE} = {REALM}
"""

# Runs in the warehouse container on first start (docker-entrypoint-initdb.d): dana may log
# in only through GSSAPI encryption; no password exists for dana.
GSS_LINE = f"hostgssenc {WAREHOUSE} dana all gss include_realm=0 krb_realm={REALM}"
WAREHOUSE_INIT = f"""
sed -i '1i {GSS_LINE}' "$PGDATA/pg_hba.conf"
psql -v ON_ERROR_STOP=1 --username postgres -qc "CREATE ROLE dana LOGIN"
psql -v ON_ERROR_STOP=1 --username postgres -qc "ALTER DATABASE {WAREHOUSE} OWNER TO dana"
"""


def kerberos_stack_file(
    path: Path, postgres_image: str, volume: str, conf_dir: Path, keytab_dir: Path, init_dir: Path
) -> Path:
    """The test's own compose file, merged after the datakit's override: the warehouse
    service, the test realm's krb5.conf, and the test's sharer volume instead of the
    developer's platform_kerberos_cache."""
    airflow = {
        "environment": {"KRB5_CONFIG": "/krb5/conf/krb5.conf"},
        "volumes": [f"{conf_dir}:/krb5/conf:ro"],
    }
    data = {
        "services": {
            WAREHOUSE: {
                "image": postgres_image,
                "networks": ["airflow"],
                "environment": {
                    "POSTGRES_PASSWORD": uuid.uuid4().hex,
                    "POSTGRES_DB": WAREHOUSE,
                },
                "command": ["postgres", "-c", "krb_server_keyfile=/keytab/postgres.keytab"],
                "volumes": [
                    f"{keytab_dir}:/keytab:ro",
                    f"{init_dir}:/docker-entrypoint-initdb.d:ro",
                ],
            },
            **{name: airflow for name in ("scheduler", "dag-processor", "api-server", "triggerer")},
        },
        "volumes": {"platform_kerberos_cache": {"external": True, "name": volume}},
    }
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def shared_platform(realm: Realm) -> Iterator[dict[str, str]]:
    """The sharer stack, started once for the module, sharing dana's TGT plus the service
    ticket for the warehouse."""
    host_dir = traversable_tmpdir("adp-e2e-stack-host-")
    env = stack_env(realm, host_dir, "adpe2estack", SHARER_HEALTH_INTERVAL="1s")
    cache = host_cache(env)
    realm.add_service(f"postgres/{WAREHOUSE}", realm.directory / "warehouse.keytab")
    realm.kinit("dana@E2E.TEST", f"FILE:{cache}", lifetime="1h")
    kvno = realm.run("kvno", f"postgres/{WAREHOUSE}@{REALM}", ccache=f"FILE:{cache}")
    assert kvno.returncode == 0, kvno.stderr
    started = make("platform-start", env)
    assert started.returncode == 0, started.stdout + started.stderr
    try:
        yield env
    finally:
        make_platform(BOOTSTRAP, "platform-clean", env, timeout=120)
        shutil.rmtree(host_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def kerberos_stack(
    tmp_path_factory: pytest.TempPathFactory,
    layer1_image: str,
    docker_cli: str,
    docker_client: docker.DockerClient,
    realm: Realm,
    shared_platform: dict[str, str],
) -> Iterator[AirflowStack]:
    kit = copy_example(KIT, tmp_path_factory.mktemp("kerberos-kit"), layer1_image)
    # The tutorial's `.env` step: the connection names the warehouse and the principal's
    # role, no password.
    conn = {
        "conn_type": "postgres",
        "host": WAREHOUSE,
        "port": 5432,
        "schema": WAREHOUSE,
        "login": "dana",
    }
    (kit / ".env").write_text(f"AIRFLOW_CONN_{KIT_PACKAGE.upper()}_WAREHOUSE={json.dumps(conn)}\n")
    image = build_datakit(docker_cli, kit, f"adp-kerberos-kit:{uuid.uuid4().hex[:8]}")
    files = traversable_tmpdir("adp-e2e-stack-files-")
    for name in ("conf", "keytab", "init"):
        (files / name).mkdir(mode=0o755)
    (files / "conf" / "krb5.conf").write_text(CONTAINER_KRB5_CONF)
    keytab = files / "keytab" / "postgres.keytab"
    shutil.copyfile(realm.directory / "warehouse.keytab", keytab)
    keytab.chmod(0o644)  # read by the warehouse's postgres user; a throw-away key
    (files / "init" / "kerberos.sh").write_text(WAREHOUSE_INIT)
    state = tmp_path_factory.mktemp("kerberos-stack")
    extra = kerberos_stack_file(
        state / "kerberos-test.yml",
        resolve_postgres_image(docker_client, None, facts.load().IMAGE_PYTHON, None),
        shared_platform["KERBEROS_CACHE_VOLUME"],
        files / "conf",
        files / "keytab",
        files / "init",
    )
    try:
        with running_airflow_stack(
            kit, image, state, client=docker_client, extra_files=[extra]
        ) as stack:
            yield stack
    finally:
        docker_client.images.remove(image, force=True)
        shutil.rmtree(files, ignore_errors=True)


@pytest.mark.docker
@pytest.mark.parametrize("service", ["scheduler", "dag-processor", "api-server", "triggerer"])
def test_the_shared_ticket_is_in_every_airflow_service(
    kerberos_stack: AirflowStack, service: str
) -> None:
    code, out = kerberos_stack.exec(service, "klist")
    assert code == 0, out
    assert "Ticket cache: FILE:/krb5/cache/krb5cc" in out, out
    assert "Default principal: dana@E2E.TEST" in out, out
    code, out = kerberos_stack.exec(service, "touch", "/krb5/cache/x")
    assert code != 0 and "Read-only file system" in out, "the volume must be mounted read-only"


@pytest.mark.docker
def test_the_example_dag_loads_the_kerberized_warehouse_as_the_user(
    kerberos_stack: AirflowStack,
) -> None:
    deadline = time.monotonic() + 60
    while kerberos_stack.exec(WAREHOUSE, "pg_isready", "-q", "-h", "127.0.0.1")[0] != 0:
        assert time.monotonic() < deadline, kerberos_stack.logs(WAREHOUSE)
        time.sleep(1)
    dag_id = f"{KIT_PACKAGE}_example"
    api = kerberos_stack.api
    api.wait_for_dag(dag_id, timeout=120)
    api.unpause(dag_id)
    run = api.wait_for_run(api.trigger(dag_id), timeout=240)
    log = api.task_log(run, "load")
    assert run.state == "success", f"{log[-4000:]}\n{kerberos_stack.logs(WAREHOUSE)}"
    # Rows written by the task, stamped by the framework's triggers with the session user:
    # dana, who can only log in through GSSAPI with the shared ticket.
    code, out = kerberos_stack.exec(
        WAREHOUSE,
        "psql",
        "-U",
        "postgres",
        "-d",
        WAREHOUSE,
        "-Atc",
        f"SELECT customer_number, changed_by FROM {KIT_PACKAGE}_customer ORDER BY 1",
    )
    assert code == 0, out
    assert out.split() == ["C-0001|dana", "C-0002|dana", "C-0003|dana"], out
