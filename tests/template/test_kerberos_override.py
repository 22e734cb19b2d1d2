"""The Kerberos override merges into the Astro-shaped compose file of the local stack.

`astro dev start` (and `adp dev start`) merge docker-compose.override.yml from the project
root into the stack's compose file, whose Airflow 3 services are scheduler,
dag-processor, api-server and triggerer (plus postgres and db-migration). The base file
here is the one `adp dev` renders, in both of the Astro CLI's shapes; `docker-compose
config` does the merge for real, without starting anything. The running stack with the
override is tested in tests/test_kerberos_end_to_end.py.
"""

from __future__ import annotations

import subprocess

import pytest
import yaml
from adp.dev.compose import SHAPES, StackSpec, compose_args, compose_command, write

AIRFLOW_SERVICES = ("scheduler", "dag-processor", "api-server", "triggerer")
MOUNT = "platform_kerberos_cache:/krb5/cache:ro"


@pytest.mark.parametrize("shape", SHAPES)
def test_override_mounts_the_ticket_volume_read_only(
    tmp_path, template_repo, render, shape
) -> None:
    project = render(template_repo, tmp_path / "customer-360", kerberos=True)
    secrets = tmp_path / "state" / "secrets.env"
    secrets.parent.mkdir()
    secrets.write_text("POSTGRES_PASSWORD=x\n")
    spec = StackSpec(
        datakit_name="customer-360",
        project_dir=project,
        image="customer-360/airflow:latest",
        postgres_image="postgres:15",
        secrets_file=secrets,
        shape=shape,
    )
    base = write(spec, tmp_path / "state" / "docker-compose.yml")
    files = [base, project / "docker-compose.override.yml"]
    result = subprocess.run(
        [*compose_command(), *compose_args("kerberos-merge", project, files), "config"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    merged = yaml.safe_load(result.stdout)

    for name in AIRFLOW_SERVICES:
        volumes = [str(v) for v in merged["services"][name]["volumes"]]
        # Compose 1.29 prints short syntax; Compose v2 prints long syntax.
        assert MOUNT in volumes or any(
            "platform_kerberos_cache" in v and "/krb5/cache" in v for v in volumes
        ), f"{name}: {volumes}"
        assert any(f"{project}/dags" in v for v in volumes), "Astro's own mounts kept"
    for name in ("postgres", "db-migration"):
        volumes = merged["services"][name].get("volumes", [])
        assert all("krb5" not in str(v) for v in volumes), name
    assert merged["volumes"]["platform_kerberos_cache"]["external"] is True
    assert merged["volumes"]["platform_kerberos_cache"]["name"] == "platform_kerberos_cache"
