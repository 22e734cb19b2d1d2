"""The Layer-1 image, built offline through the whole chain, keeps ARCHITECTURE decision 1."""

from __future__ import annotations

import json
from pathlib import Path

import docker
import pytest
from adp import facts
from adp_test_support import REPO, built_datakit, labels, onbuild_triggers, run, run_in

pytestmark = pytest.mark.docker

PINNED_AIRFLOW = facts.load().AIRFLOW_VERSION
EXPECTED_ONBUILD = [
    "COPY packages.txt .",
    "USER root",
    "RUN /usr/local/bin/install-system-packages",
    "COPY requirements.txt .",
    "RUN /usr/local/bin/install-python-dependencies",
    "USER astro",
    "COPY --chown=astro:0 . .",
]

VALID_DAG = """\
from datetime import datetime

from airflow.sdk import dag, task


@dag(schedule=None, start_date=datetime(2026, 1, 1), catchup=False, tags=["test"])
def layer1_valid():
    @task
    def hello() -> str:
        return "hello"

    hello()


layer1_valid()
"""

BROKEN_DAG = """\
from airflow.sdk import dag
import module_that_does_not_exist  # noqa: F401


@dag(schedule=None)
def layer1_broken():
    pass


layer1_broken()
"""


def dag_folder(tmp_path: Path, name: str, source: str) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    (folder / f"{name}.py").write_text(source)
    folder.chmod(0o755)
    tmp_path.chmod(0o755)
    return folder


def list_import_errors(client: docker.DockerClient, image: str, folder: Path):
    return run_in(
        client,
        image,
        "airflow db migrate >/dev/null 2>&1 && airflow dags list-import-errors --local -o json",
        volumes={str(folder): {"bind": "/dags", "mode": "ro"}},
        environment={"AIRFLOW__CORE__DAGS_FOLDER": "/dags"},
    )


def test_airflow_reports_the_pinned_version(docker_client, layer1_image):
    ran = run_in(docker_client, layer1_image, "airflow version")
    assert ran.exit_code == 0, ran.output
    assert ran.output.strip().splitlines()[-1] == PINNED_AIRFLOW


def test_valid_dag_folder_has_no_import_errors(docker_client, layer1_image, tmp_path):
    ran = list_import_errors(docker_client, layer1_image, dag_folder(tmp_path, "good", VALID_DAG))
    assert ran.exit_code == 0, ran.output
    assert json.loads(ran.output.strip().splitlines()[-1]) == []


def test_broken_dag_folder_fails_and_names_the_error(docker_client, layer1_image, tmp_path):
    ran = list_import_errors(docker_client, layer1_image, dag_folder(tmp_path, "bad", BROKEN_DAG))
    assert ran.exit_code != 0, ran.output
    assert "module_that_does_not_exist" in ran.output


def test_kerberos_client_and_ticket_location(docker_client, layer1_image):
    ran = run_in(
        docker_client,
        layer1_image,
        'klist -V && echo "KRB5CCNAME=$KRB5CCNAME" && echo "PGGSSENCMODE=$PGGSSENCMODE"',
    )
    assert ran.exit_code == 0, ran.output
    assert "Kerberos 5 version" in ran.output
    assert "KRB5CCNAME=/krb5/cache/krb5cc" in ran.output
    # Connections that do not ask for Kerberos (Airflow's metadata DB) never try GSSAPI.
    assert "PGGSSENCMODE=disable" in ran.output
    ran = run_in(docker_client, layer1_image, "grep -h default_realm /etc/krb5.conf")
    assert "EXAMPLE.COM" in ran.output, "without config/krb5.conf the example realm is used"


def test_platform_packages_and_common_deps_import(docker_client, layer1_image):
    ran = run_in(
        docker_client,
        layer1_image,
        "python -c 'import sqlmodel_framework, adp, sqlmodel, sqlalchemy, pyodbc, psycopg2;"
        " import airflow.providers.microsoft.mssql, airflow.providers.cncf.kubernetes;"
        " print(sqlmodel_framework.__name__, adp.__version__)'"
        " && adp version && pytest --version && odbcinst -q -d"
        # adp dev drives a Docker engine from the host: the image has no Docker SDK.
        " && { adp dev status -p /tmp 2>&1 || true; }",
    )
    assert ran.exit_code == 0, ran.output
    assert "pip install 'platform-cli[dev]'" in ran.output
    assert f"sqlmodel_framework {facts.load().PLATFORM_VERSION}" in ran.output
    assert "[FreeTDS]" in ran.output


def test_runs_as_astro_in_airflow_home(docker_client, layer1_image):
    ran = run_in(docker_client, layer1_image, 'id -un; pwd; echo "$AIRFLOW_HOME"')
    assert ran.output.split() == ["astro", "/usr/local/airflow", "/usr/local/airflow"]


def test_logs_folder_belongs_to_astro(docker_client, layer1_image):
    """A fresh named volume at /usr/local/airflow/logs (astro-cli v1's airflow_logs) takes
    the image folder's owner: without it the dag-processor cannot write its logs."""
    ran = run_in(docker_client, layer1_image, "stat -c '%U %G %a' /usr/local/airflow/logs")
    assert ran.output.split() == ["astro", "root", "775"], ran.output


def test_onbuild_triggers_in_astro_runtime_order(docker_client, layer1_image):
    assert onbuild_triggers(docker_client, layer1_image) == EXPECTED_ONBUILD


def test_runtime_labels_untouched_and_own_labels_added(docker_client, layer1_image, runtime_image):
    runtime_labels = labels(docker_client, runtime_image, "io.astronomer.docker")
    assert runtime_labels["io.astronomer.docker.runtime.version"]
    assert labels(docker_client, layer1_image, "io.astronomer.docker") == runtime_labels
    ours = labels(docker_client, layer1_image)
    version = facts.load().PLATFORM_VERSION
    assert ours["org.opencontainers.image.version"] == version
    assert ours["io.adp.platform.version"] == version
    assert ours["org.opencontainers.image.revision"] not in ("", "unknown")
    assert ours["io.adp.base.image"] == runtime_image
    assert onbuild_triggers(docker_client, runtime_image) == [], "the runtime plays -base"


def test_layer2_gets_packages_requirements_and_files(
    docker_client, docker_cli, layer1_image, tmp_path
):
    (tmp_path / "Dockerfile").write_text(f"FROM {layer1_image}\n")
    (tmp_path / "packages.txt").write_text("# a tool Layer 1 does not have\njq\n")
    (tmp_path / "requirements.txt").write_text("cowsay==6.1\n")
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "marker.txt").write_text("layer-2 file\n")
    with built_datakit(docker_cli, docker_client, tmp_path, "adp-test-layer2:latest") as tag:
        ran = run_in(
            docker_client,
            tag,
            "jq --version && python -c 'import cowsay; print(cowsay.__name__)'"
            " && cat dags/marker.txt && stat -c %U dags/marker.txt"
            " && id -un",
        )
        assert ran.exit_code == 0, ran.output
        lines = ran.output.split("\n")
        assert lines[0].startswith("jq-")
        assert lines[1:5] == ["cowsay", "layer-2 file", "astro", "astro"]


@pytest.mark.parametrize(
    ("packages", "requirements", "message"),
    [
        ("", "apache-airflow==3.2.0\n", "the Airflow version comes from the base image"),
        ("jq; rm -rf /\n", "", "packages.txt: 'jq;' is not a Debian package name"),
    ],
    ids=["requirements-cannot-change-airflow", "bad-package-name-refused"],
)
def test_bad_layer2_input_fails_the_build_with_a_clear_message(
    docker_cli, layer1_image, tmp_path, packages, requirements, message
):
    (tmp_path / "Dockerfile").write_text(f"FROM {layer1_image}\n")
    (tmp_path / "packages.txt").write_text(packages)
    (tmp_path / "requirements.txt").write_text(requirements)
    result = run(
        [docker_cli, "build", "-t", "adp-test-layer2-bad", str(tmp_path)],
        env={"DOCKER_BUILDKIT": "1"},
        check=False,
    )
    assert result.returncode != 0
    assert message in result.stderr


# What a data team commonly adds: resolved into the platform's constraints with Airflow, so
# that a datakit adding any of them installs (issue: botocore refused the dateutil we pinned).
COMMON_PROVIDERS = [
    line.strip()
    for line in (REPO / facts.load().AIRFLOW_CONSTRAINTS)
    .with_suffix(".in")
    .read_text()
    .split("# Providers and clients a data team commonly adds", 1)[1]
    .splitlines()[1:]
    if line.strip() and not line.startswith("#")
]


def test_layer2_adds_common_providers_under_the_platform_pins(
    docker_client, docker_cli, layer1_image, tmp_path
):
    added = [
        "apache-airflow-providers-amazon",
        "apache-airflow-providers-git",
        "apache-airflow-providers-http",
        "apache-airflow-providers-sftp",
        "apache-airflow-providers-slack",
        "boto3",
    ]
    assert set(added) <= set(COMMON_PROVIDERS)
    (tmp_path / "Dockerfile").write_text(f"FROM {layer1_image}\n")
    (tmp_path / "requirements.txt").write_text("\n".join(added) + "\n")
    (tmp_path / "packages.txt").write_text("")
    with built_datakit(docker_cli, docker_client, tmp_path, "adp-test-providers") as tag:
        ran = run_in(
            docker_client,
            tag,
            "python -c 'import boto3, dateutil, airflow"
            "; from airflow.providers.amazon.aws.hooks.s3 import S3Hook"
            "; from airflow.providers.git.bundles.git import GitDagBundle"
            "; from airflow.providers.http.hooks.http import HttpHook"
            "; from airflow.providers.sftp.hooks.sftp import SFTPHook"
            "; from airflow.providers.slack.hooks.slack import SlackHook"
            "; print(airflow.__version__, dateutil.__version__)'"
            " && uv pip list --format=freeze 2>/dev/null | grep -E '^(boto3|botocore)=='",
        )
        assert ran.exit_code == 0, ran.output
        airflow_version, _dateutil = ran.output.splitlines()[0].split()
        assert airflow_version == PINNED_AIRFLOW
        pins = (REPO / facts.load().AIRFLOW_CONSTRAINTS).read_text().splitlines()
        for line in ran.output.splitlines()[1:]:
            assert line in pins, f"{line} is not the platform's pin"


def test_every_common_provider_resolves_on_the_layer1_image(docker_client, layer1_image):
    """The heavy ones too (google, azure, databricks, ...), resolved but not installed."""
    assert len(COMMON_PROVIDERS) >= 10
    ran = run_in(
        docker_client,
        layer1_image,
        "cd /tmp && adp-pip-install --dry-run"
        " -c /usr/local/share/adp/installed-constraints.txt"
        " -c /usr/local/share/adp/layer1-constraints.txt " + " ".join(COMMON_PROVIDERS),
        user="root",
    )
    assert ran.exit_code == 0, ran.output


def test_template_refuses_every_name_the_image_takes(docker_client, layer1_image):
    """copier.yml's taken_in_layer1 list is what scripts/taken-package-names finds in the image
    (stale after a dependency change: run scripts/write-template-names)."""
    import re

    script = REPO / "scripts" / "taken-package-names"
    volumes = {str(script): {"bind": "/tmp/taken-package-names", "mode": "ro"}}
    ran = run_in(docker_client, layer1_image, "python /tmp/taken-package-names", volumes=volumes)
    assert ran.exit_code == 0, ran.output
    in_image = ran.output.split()
    assert {"email", "logging", "airflow", "pendulum", "google"} <= set(in_image)
    line = re.search(
        r"(?m)^    \{% set taken_in_layer1 = \[(.*)\] %\}$", (REPO / "copier.yml").read_text()
    )
    assert line, "copier.yml has no taken_in_layer1 line"
    in_template = re.findall(r"'([a-z0-9_]+)'", line.group(1))
    assert in_template == in_image, "stale: run scripts/write-template-names and commit copier.yml"
