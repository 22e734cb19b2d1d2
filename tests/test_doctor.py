"""`adp doctor`: every check seen passing, and seen failing with its fix, against the real
things (Docker engine, images, a KDC, the ticket sharer's compose stack, the running
Airflow stack). Credential files are judged by path and mode: their content never shows."""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from adp import facts
from adp.doctor import Context, checks, failed, run_checks
from adp_test_servers.airflow_stack import AirflowStack
from adp_test_servers.kdc import Realm, running_realm
from adp_test_servers.platform_stack import (
    host_cache,
    make_platform,
    sharer_container,
    stack_env,
    wait_health,
)
from adp_test_servers.ports import free_port
from adp_test_servers.system import traversable_tmpdir
from adp_test_servers.tools import project_tool
from adp_test_support import REPO

pytestmark = pytest.mark.docker
BOOTSTRAP = REPO / "platform-bootstrap"


def ctx(tmp_path: Path, **env: str) -> Context:
    """A context outside any repository or datakit, with only `env` set (plus PATH)."""
    return Context(env={"PATH": os.environ["PATH"], **env}, cwd=tmp_path)


# -- docker engine and BuildKit client --------------------------------------------------
def test_docker_engine(tmp_path: Path) -> None:
    assert checks.check_docker_engine(ctx(tmp_path)).status == "ok"
    bad = checks.check_docker_engine(ctx(tmp_path, DOCKER_HOST="unix:///nonexistent.sock"))
    assert bad.status == "fail" and "no Docker engine answers" in bad.detail
    assert "scripts/ensure-docker" in bad.fix


def test_buildkit_client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = checks.check_buildkit_client(ctx(tmp_path))
    assert found.status == "ok" and "builds with BuildKit" in found.detail
    bin_dir = tmp_path / "bin"  # a PATH with the script's tools and no docker client
    bin_dir.mkdir()
    (bin_dir / "cut").symlink_to(shutil.which("cut"))
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.delenv("DOCKER", raising=False)
    monkeypatch.setenv("ADP_DOCKER_CLIENTS", "")  # nor in the well-known places
    missing = checks.check_buildkit_client(ctx(tmp_path))
    assert missing.status == "fail" and "docker.io" in missing.fix
    assert "no docker client with BuildKit found" in missing.detail


# -- the Layer-1 image ------------------------------------------------------------------
@pytest.fixture
def old_layer1(docker_client: docker.DockerClient, layer1_image: str) -> Iterator[str]:
    """An image labelled as built by another platform version (on the bare base: a child
    of Layer 1 would run its ONBUILD triggers)."""
    tag = f"adp-doctor-old:{uuid.uuid4().hex[:8]}"
    dockerfile = f"FROM {facts.load().IMAGE_PYTHON}\nLABEL io.adp.platform.version=0.0.1\n"
    docker_client.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=tag, rm=True)
    yield tag
    docker_client.images.remove(tag, force=True)


def test_layer1_image(tmp_path: Path, layer1_image: str, old_layer1: str) -> None:
    good = checks.check_layer1_image(Context(cwd=tmp_path, layer1_image=layer1_image))
    assert good.status == "ok" and f"platform {facts.load().PLATFORM_VERSION}" in good.detail
    missing = checks.check_layer1_image(Context(cwd=tmp_path, layer1_image="adp-none:0"))
    assert missing.status == "fail" and "make build" in missing.fix
    old = checks.check_layer1_image(Context(cwd=tmp_path, layer1_image=old_layer1))
    assert old.status == "fail" and "built by platform 0.0.1" in old.detail
    assert "make build" in old.fix
    foreign = checks.check_layer1_image(
        Context(cwd=tmp_path, layer1_image=facts.load().IMAGE_PYTHON)
    )
    assert foreign.status == "fail" and "not built by this platform" in foreign.detail


def test_layer1_image_is_the_datakits_from(tmp_path: Path, old_layer1: str) -> None:
    (tmp_path / "dags").mkdir()
    (tmp_path / "Dockerfile").write_text(f"# comment\nFROM {old_layer1}\n")
    found = checks.check_layer1_image(Context(cwd=tmp_path / "dags"))
    assert found.status == "fail" and old_layer1 in found.detail


# -- corporate CA and credential files --------------------------------------------------
def test_corporate_ca(tmp_path: Path) -> None:
    good = checks.check_corporate_ca(ctx(tmp_path, CA_BUNDLE="/etc/ssl/certs/ca-certificates.crt"))
    assert good.status == "ok" and "certificate(s)" in good.detail
    garbage = tmp_path / "corp.crt"
    garbage.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    bad = checks.check_corporate_ca(ctx(tmp_path, CA_BUNDLE=str(garbage)))
    assert bad.status == "fail" and str(garbage) in bad.detail and "PEM" in bad.fix
    empty = tmp_path / "empty.crt"
    empty.write_text("hello\n")
    assert checks.check_corporate_ca(ctx(tmp_path, CA_BUNDLE=str(empty))).status == "fail"
    none = checks.check_corporate_ca(ctx(tmp_path))
    assert none.status == "warn" and not none.required and "config/ca-certificates" in none.fix


def test_credential_files_by_mode_never_by_content(tmp_path: Path) -> None:
    secret = f"s3cr3t-{uuid.uuid4().hex}"
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine pypi.example.com login ci password {secret}\n")
    netrc.chmod(0o644)
    loose = checks.check_credential_files(ctx(tmp_path, NETRC_FILE=str(netrc)))
    assert loose.status == "fail" and "mode 0644" in loose.detail
    assert loose.fix == f"chmod 600 {netrc}"
    netrc.chmod(0o600)
    tight = checks.check_credential_files(
        ctx(tmp_path, NETRC_FILE=str(netrc), INDEX_PASSWORD_FILE=str(netrc))
    )
    assert tight.status == "ok"
    gone = checks.check_credential_files(ctx(tmp_path, INDEX_PASSWORD_FILE=str(tmp_path / "x")))
    assert gone.status == "fail" and "does not exist" in gone.detail
    assert checks.check_credential_files(ctx(tmp_path)).status == "skip"
    everything = json.dumps([c.as_dict() for c in run_checks(ctx(tmp_path, NETRC_FILE=str(netrc)))])
    assert secret not in everything


# -- Kerberos: the host ticket and the shared copy -------------------------------------
@pytest.fixture(scope="module")
def realm() -> Iterator[Realm]:
    with running_realm("DOCTOR.TEST") as realm:
        realm.add_user("erin", "erin-password")
        yield realm


def test_host_ticket(tmp_path: Path, realm: Realm) -> None:
    cache = f"FILE:{tmp_path}/krb5cc"
    env = dict(realm.env(cache))
    assert checks.check_host_ticket(Context(env=env, cwd=tmp_path)).status == "warn"
    required = checks.check_host_ticket(Context(env=env, cwd=tmp_path, require_kerberos=True))
    assert required.status == "fail" and "kinit" in required.fix
    realm.kinit("erin@DOCTOR.TEST", cache, lifetime="1h")
    valid = checks.check_host_ticket(Context(env=env, cwd=tmp_path, require_kerberos=True))
    assert (
        valid.status == "ok" and "erin@DOCTOR.TEST" in valid.detail and "TGT valid" in valid.detail
    )


def test_kerberos_is_required_where_the_datakit_mounts_the_ticket(tmp_path: Path) -> None:
    (tmp_path / "dags").mkdir()
    (tmp_path / "Dockerfile").write_text("FROM layer1-airflow:latest\n")
    assert not Context(cwd=tmp_path).kerberos_required()
    (tmp_path / "docker-compose.override.yml").write_text(
        "volumes:\n  platform_kerberos_cache:\n    external: true\n"
    )
    assert Context(cwd=tmp_path).kerberos_required()


def test_shared_ticket(tmp_path: Path, realm: Realm, docker_client: docker.DockerClient) -> None:
    host_dir = traversable_tmpdir("adp-doctor-host-")
    env = stack_env(realm, host_dir, "adpdoctor", SHARER_HEALTH_INTERVAL="1s")
    doctor_env = {"KERBEROS_CACHE_VOLUME": env["KERBEROS_CACHE_VOLUME"]}
    try:
        none = checks.check_shared_ticket(
            Context(env=doctor_env, cwd=tmp_path, require_kerberos=True)
        )
        assert none.status == "fail" and "make platform-start" in none.fix
        realm.kinit("erin@DOCTOR.TEST", f"FILE:{host_cache(env)}", lifetime="1h")
        started = make_platform(BOOTSTRAP, "platform-start", env)
        assert started.returncode == 0, started.stdout + started.stderr
        sharer = sharer_container(docker_client, env)
        wait_health(sharer, "healthy")
        shared = checks.check_shared_ticket(Context(env=doctor_env, cwd=tmp_path))
        assert shared.status == "ok" and "erin@DOCTOR.TEST, expires in 0 h" in shared.detail
        realm.run("kdestroy", ccache=f"FILE:{host_cache(env)}")
        wait_health(sharer, "unhealthy", timeout=30)
        gone = checks.check_shared_ticket(
            Context(env=doctor_env, cwd=tmp_path, require_kerberos=True)
        )
        assert gone.status == "fail" and "kinit erin@DOCTOR.TEST" in gone.fix
    finally:
        make_platform(BOOTSTRAP, "platform-clean", env, timeout=120)
        shutil.rmtree(host_dir, ignore_errors=True)


# -- Astro CLI and ports ----------------------------------------------------------------
def test_astro_cli(tmp_path: Path) -> None:
    """The Astro CLI cannot be installed here: a stand-in that prints its version line
    shows the passing case."""
    absent = checks.check_astro_cli(Context(env={"PATH": str(tmp_path)}, cwd=tmp_path))
    assert absent.status == "warn" and not absent.required and "adp dev start" in absent.fix
    required = Context(env={"PATH": str(tmp_path)}, cwd=tmp_path, require_astro=True)
    assert checks.check_astro_cli(required).status == "fail"
    astro = tmp_path / "astro"
    astro.write_text("#!/bin/sh\necho 'Astro CLI Version: 1.38.0'\n")
    astro.chmod(0o755)
    present = checks.check_astro_cli(Context(env={"PATH": str(tmp_path)}, cwd=tmp_path))
    assert present.status == "ok" and "1.38.0" in present.detail


def test_ports(tmp_path: Path, airflow_stack: AirflowStack) -> None:
    free = {"ADP_DEV_API_PORT": str(free_port()), "ADP_DEV_POSTGRES_PORT": str(free_port())}
    assert checks.check_ports(ctx(tmp_path, **free)).status == "ok"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = checks.check_ports(ctx(tmp_path, **{**free, "ADP_DEV_API_PORT": str(port)}))
    assert busy.status == "fail" and f"port {port}" in busy.detail
    assert "ADP_DEV_API_PORT=<port>" in busy.fix
    stack_port = airflow_stack.url.rsplit(":", 1)[1]
    ours = checks.check_ports(ctx(tmp_path, **{**free, "ADP_DEV_API_PORT": stack_port}))
    assert ours.status == "ok" and "used by the running stack of datakit" in ours.detail
    bad = checks.check_ports(ctx(tmp_path, ADP_DEV_API_PORT="http"))
    assert bad.status == "fail" and "ADP_DEV_API_PORT='http'" in bad.detail


# -- the command ------------------------------------------------------------------------
def test_the_command_exits_by_the_required_checks(tmp_path: Path, layer1_image: str) -> None:
    env = {
        **os.environ,
        "ADP_DEV_API_PORT": str(free_port()),
        "ADP_DEV_POSTGRES_PORT": str(free_port()),
    }
    adp = project_tool("adp")
    ok = subprocess.run(
        [adp, "doctor", "--json", "--layer1-image", layer1_image, "--no-kerberos"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    report = json.loads(ok.stdout)
    assert ok.returncode == 0, report
    assert {c["name"] for c in report} >= {"docker engine", "layer-1 image", "ports"}
    broken = subprocess.run(
        [adp, "doctor"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**env, "DOCKER_HOST": "unix:///nonexistent.sock"},
    )
    assert broken.returncode == 1
    assert "FAIL  docker engine" in broken.stdout and "fix: start it" in broken.stdout
    assert failed(run_checks(ctx(tmp_path, DOCKER_HOST="unix:///nonexistent.sock")))
