"""The Kerberos override merges into the compose file the Astro CLI generates.

`astro dev start` merges docker-compose.override.yml from the project root
into its own compose file, whose Airflow 3 services are scheduler,
dag-processor, api-server and triggerer (plus postgres and db-migration). The
base file here has the same service names and mounts; `docker-compose config`
does the merge for real, without starting anything.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

AIRFLOW_SERVICES = ("scheduler", "dag-processor", "api-server", "triggerer")
MOUNT = "platform_kerberos_cache:/krb5/cache:ro"


def astro_like_compose() -> dict:
    airflow = {
        "image": "customer-360/airflow:latest",
        "environment": {"ASTRONOMER_ENVIRONMENT": "local"},
        "volumes": ["./dags:/usr/local/airflow/dags:z", "airflow_logs:/usr/local/airflow/logs"],
    }
    return {
        "version": "3.4",
        "volumes": {"postgres_data": {}, "airflow_logs": {}},
        "services": {
            "postgres": {"image": "postgres:12.6", "volumes": ["postgres_data:/var/lib/pg"]},
            "db-migration": {"image": "customer-360/airflow:latest"},
            **{name: dict(airflow) for name in AIRFLOW_SERVICES},
        },
    }


def test_override_mounts_the_ticket_volume_read_only(tmp_path, template_repo, render) -> None:
    compose = shutil.which("docker-compose")
    if compose is None:
        pytest.skip("docker-compose is not installed")
    project = render(template_repo, tmp_path / "customer-360", kerberos=True)
    base = project / "docker-compose.astro.yml"
    base.write_text(yaml.safe_dump(astro_like_compose()))
    override = yaml.safe_load((project / "docker-compose.override.yml").read_text())
    override.setdefault("version", "3.4")  # compose 1.x wants equal versions to merge
    (project / "override-versioned.yml").write_text(yaml.safe_dump(override))

    result = subprocess.run(
        [compose, "-f", str(base), "-f", "override-versioned.yml", "config"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    merged = yaml.safe_load(result.stdout)

    for name in AIRFLOW_SERVICES:
        volumes = merged["services"][name]["volumes"]
        assert MOUNT in volumes, f"{name}: {volumes}"
        assert f"{project}/dags:/usr/local/airflow/dags:z" in volumes, "Astro's own mounts kept"
    for name in ("postgres", "db-migration"):
        volumes = merged["services"][name].get("volumes", [])
        assert all("krb5" not in str(v) for v in volumes), name
    assert merged["volumes"]["platform_kerberos_cache"]["external"] is True
    assert merged["volumes"]["platform_kerberos_cache"]["name"] == "platform_kerberos_cache"
