"""Smoke tests: every runtime image builds offline from the foundation's base, runs as a
non-root user, carries no build tooling, and its tool actually works."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from adp.images import discovery
from adp.images.config import source_tree

RUNTIME_ROOT = source_tree().runtime_root

pytestmark = pytest.mark.docker

EXPECTED_TYPES = {
    "airflow-runner",
    "dbt-runner",
    "python-runner",
    "spark-runner",
    "sqlserver-runner",
}


def run(client, image: str, command, **kwargs) -> str:
    """Run a command to completion; docker.errors.ContainerError (with output) if it fails."""
    out = client.containers.run(image, command, remove=True, stderr=True, **kwargs)
    return out.decode(errors="replace")


def readable_dir() -> Path:
    """A temp dir the image's uid 50000 can read (pytest's tmp_path is 0700 root)."""
    path = Path(tempfile.mkdtemp(prefix="adp-rt-"))
    path.chmod(0o755)
    return path


def test_every_discovered_type_built(built_images: dict[str, str]) -> None:
    assert set(built_images) >= EXPECTED_TYPES
    assert set(built_images) == {t.name for t in discovery.discover(RUNTIME_ROOT)}


def test_images_run_as_non_root_without_build_tools(docker_sdk, built_images) -> None:
    for name, tag in built_images.items():
        image = docker_sdk.images.get(tag)
        assert image.attrs["Config"]["User"] == "50000", name
        assert image.labels["io.adp.runtime.type"] == name
        out = run(
            docker_sdk,
            tag,
            ["sh", "-c", "id -u; for t in gcc cc uv pip3; do command -v $t || true; done"],
        )
        assert out.split() == ["50000"], f"{name}: uid or build tools found: {out!r}"


def test_images_contain_no_credentials(docker_sdk, built_images) -> None:
    for name, tag in built_images.items():
        env = docker_sdk.images.get(tag).attrs["Config"]["Env"]
        leaky = [
            e for e in env if any(w in e.split("=")[0] for w in ("PASSWORD", "TOKEN", "SECRET"))
        ]
        assert not leaky, f"{name}: credential-like variables in the image: {leaky}"
        out = run(docker_sdk, tag, ["sh", "-c", "ls -a /root /home/runner 2>/dev/null; true"])
        assert ".netrc" not in out and ".pypirc" not in out, name


def test_python_runner(docker_sdk, built_images) -> None:
    code = "import requests, yaml, sys; print(sys.version_info[:2], requests.__version__)"
    out = run(docker_sdk, built_images["python-runner"], ["python", "-c", code])
    python = tuple(int(part) for part in source_tree().facts.PYTHON_VERSION.split("."))
    assert out.startswith(str(python))  # "(3, 11)": facts.env's PYTHON_VERSION


def test_sqlserver_runner_lists_freetds_and_has_kerberos(docker_sdk, built_images) -> None:
    tag = built_images["sqlserver-runner"]
    assert "[FreeTDS]" in run(docker_sdk, tag, ["odbcinst", "-q", "-d"])
    out = run(docker_sdk, tag, ["python", "-c", "import pyodbc; print(pyodbc.drivers())"])
    assert "FreeTDS" in out
    assert "Kerberos 5" in run(docker_sdk, tag, ["klist", "-V"])
    env = docker_sdk.images.get(tag).attrs["Config"]["Env"]
    assert "KRB5CCNAME=/krb5/cache/krb5cc" in env


def test_spark_runner_submits_a_local_job(docker_sdk, built_images) -> None:
    job = readable_dir()
    (job / "job.py").write_text(
        "from pyspark.sql import SparkSession\n"
        "spark = SparkSession.builder.appName('smoke').getOrCreate()\n"
        "print('SUM', spark.range(1, 101).selectExpr('sum(id) AS s').first()['s'])\n"
        "spark.stop()\n"
    )
    (job / "job.py").chmod(0o644)
    out = run(
        docker_sdk,
        built_images["spark-runner"],
        ["spark-submit", "--master", "local[1]", "--conf", "spark.ui.enabled=false", "/job/job.py"],
        volumes={str(job): {"bind": "/job", "mode": "ro"}},
    )
    assert "SUM 5050" in out


def test_airflow_runner_has_the_platforms_airflow(docker_sdk, built_images) -> None:
    out = run(docker_sdk, built_images["airflow-runner"], ["airflow", "version"])
    # The Airflow of facts.env, pinned by the constraints every image installs under.
    tree = source_tree()
    assert out.strip() == tree.facts.AIRFLOW_VERSION
    assert f"\napache-airflow=={out.strip()}\n" in tree.airflow_constraints().read_text()


def test_dbt_version_lists_both_adapters(docker_sdk, built_images) -> None:
    out = run(docker_sdk, built_images["dbt-runner"], ["dbt", "--version"])
    assert "postgres" in out and "sqlserver" in out, out


def test_dbt_debug_against_real_postgres(docker_sdk, built_images, postgres) -> None:
    project = readable_dir()
    (project / "dbt_project.yml").write_text(
        "name: adp_smoke\nversion: '1.0'\nconfig-version: 2\nprofile: adp_smoke\n"
    )
    (project / "profiles.yml").write_text(
        "adp_smoke:\n"
        "  target: ci\n"
        "  outputs:\n"
        "    ci:\n"
        "      type: postgres\n"
        f"      host: {postgres.host}\n"
        f"      port: {postgres.port}\n"
        f"      user: {postgres.user}\n"
        "      password: \"{{ env_var('DBT_PASSWORD') }}\"\n"
        f"      dbname: {postgres.dbname}\n"
        "      schema: public\n"
        "      threads: 1\n"
    )
    for f in project.iterdir():
        f.chmod(0o644)
    # Read-only project, as in a pod; logs and target go to /tmp.
    out = run(
        docker_sdk,
        built_images["dbt-runner"],
        ["dbt", "debug", "--project-dir", "/project", "--profiles-dir", "/project"],
        network_mode="host",
        volumes={str(project): {"bind": "/project", "mode": "ro"}},
        environment={
            "DBT_PASSWORD": postgres.password,
            "DBT_LOG_PATH": "/tmp/dbt-logs",
            "DBT_TARGET_PATH": "/tmp/dbt-target",
            "DBT_USE_COLORS": "false",
        },
    )
    assert "Connection test: [OK connection ok]" in out, out
    assert "All checks passed!" in out, out
