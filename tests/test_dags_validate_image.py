"""`adp dags validate` with the Layer-1 image: the import check runs there (only the image's
packages, no network), and the whole validation runs inside the image as CI would run it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from adp.validation import ImportTarget, ValidationOptions, validate
from adp_test_helpers.dag_corpus import GITHUB_TOKEN, dag

pytestmark = [pytest.mark.docker, pytest.mark.slow]

# A provider Layer 1 installs and the project's venv does not: the import check's verdict
# depends on the target, as it must.
POSTGRES_AT_TOP = "from airflow.providers.postgres.hooks.postgres import PostgresHook"


@pytest.fixture(scope="module")
def dags(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("image-dags")
    (folder / "corp_clean.py").write_text(dag("corp_clean"))
    (folder / "corp_postgres.py").write_text(dag("corp_postgres", top=POSTGRES_AT_TOP))
    (folder / "corp_network.py").write_text(
        dag("corp_network", top="import socket\nsocket.create_connection(('127.0.0.1', 9))")
    )
    (folder / "corp_token.py").write_text(dag("corp_token", top=f'GH = "{GITHUB_TOKEN}"'))
    folder.chmod(0o755)  # the image's user (astro) reads the mounted folder
    return folder


def _by_file(report) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for finding in report.active():
        found.setdefault(Path(finding.path).name, set()).add(finding.rule)
    return found


def test_import_check_in_layer1_image_sees_only_its_packages(dags: Path, layer1_image: str) -> None:
    in_image = validate(
        [str(dags)], ValidationOptions(package="corp", target=ImportTarget(image=layer1_image))
    )
    in_venv = validate([str(dags)], ValidationOptions(package="corp"))
    assert any("image " + layer1_image in note for note in in_image.notes)
    image_rules, venv_rules = _by_file(in_image), _by_file(in_venv)
    assert "corp_clean.py" not in image_rules and "corp_clean.py" not in venv_rules
    assert "corp_postgres.py" not in image_rules  # Layer 1 has the provider
    assert venv_rules["corp_postgres.py"] == {"ADP020"}  # the venv does not
    assert image_rules["corp_network.py"] == venv_rules["corp_network.py"] == {"ADP202"}
    assert {d.dag_id for d in in_image.dags} == {
        "corp_clean",
        "corp_postgres",
        "corp_token",
    }


def test_validation_runs_inside_the_image(dags: Path, layer1_image: str, docker_cli: str) -> None:
    def run_in_image(*args: str) -> subprocess.CompletedProcess[str]:
        command = [docker_cli, "run", "--rm", "--network=none", "-v", f"{dags}:/dags:ro"]
        command += ["--entrypoint=adp", layer1_image, "dags", "validate", "--package", "corp"]
        return subprocess.run(
            [*command, *args], capture_output=True, text=True, timeout=300, check=False
        )

    found = run_in_image("/dags", "--format", "json")
    assert found.returncode == 1, found.stderr
    assert '"GitHubTokenDetector"' in found.stdout and GITHUB_TOKEN not in found.stdout
    clean = run_in_image("/dags/corp_clean.py")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "passed: 1 file(s), 1 DAG(s)" in clean.stdout
