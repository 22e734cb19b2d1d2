"""Every combination of the template's choice questions renders a clean, working project.

The combinations come from copier.yml itself (conftest.choice_matrix), so a new
choice is tested the moment it is added. For each rendering: no Jinja left
where it does not belong, every YAML and TOML file parses, ruff is clean with
the project's own settings, and the project's own test suite passes against
the Airflow installed here.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml
from adp_test_servers.tools import project_tool

TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "templates" / "datakit"
# Airflow's own template expressions that DAG code legitimately contains.
AIRFLOW_EXPRESSIONS = ("{{ ds }}",)
JINJA_MARKERS = re.compile(r"\{\{|\{%|\{#")
KERBEROS_SERVICES = {"scheduler", "dag-processor", "api-server", "triggerer"}


def verbatim_files() -> set[str]:
    """Paths of template files copied as they are (not *.jinja): they may keep braces."""
    return {
        str(path.relative_to(TEMPLATE_DIR))
        for path in TEMPLATE_DIR.rglob("*")
        if path.is_file() and path.suffix != ".jinja" and "{{" not in str(path)
    }


CACHE_DIRS = {".git", "__pycache__", ".pytest_cache", ".ruff_cache"}


def project_files(project: Path) -> list[Path]:
    return sorted(
        p for p in project.rglob("*") if p.is_file() and not CACHE_DIRS.intersection(p.parts)
    )


def test_suite_combos_cover_every_answer_any_file_sees(answer_matrix, covering_combos) -> None:
    """The generated test suites run on a covering subset of the matrix: enough only while
    no template file depends on more questions than the covering's strength."""
    matrix = answer_matrix
    covering = covering_combos(matrix, strength=3)
    names = sorted(matrix[0])
    for path in sorted(p for p in TEMPLATE_DIR.rglob("*") if p.is_file()):
        text = str(path.relative_to(TEMPLATE_DIR))
        text += path.read_text() if path.suffix == ".jinja" else ""
        used = [n for n in names if re.search(rf"\b{n}\b", text)]
        assert len(used) <= 3, f"{path} depends on {used}: raise covering_combos' strength"
        seen = {tuple(c[n] for n in used) for c in covering}
        assert seen == {tuple(c[n] for n in used) for c in matrix}, path
    assert len(covering) < len(matrix)
    assert covering_combos(matrix, strength=len(names)) == matrix


@pytest.fixture(scope="module")
def rendered(tmp_path_factory, template_repo, render):
    """One rendering per combination, shared by the checks of that combination."""
    cache: dict[str, Path] = {}

    def get(combo: dict[str, Any]) -> Path:
        key = repr(sorted(combo.items()))
        if key not in cache:
            dst = tmp_path_factory.mktemp("datakit") / "customer-360"
            cache[key] = render(template_repo, dst, datakit_name="customer-360", **combo)
        return cache[key]

    return get


def test_matrix_comes_from_copier_yml(template_questions) -> None:
    warehouse = template_questions["warehouse"]["choices"]
    assert set(warehouse.values()) == {"sqlserver", "postgres", "none"}
    for name in ("kerberos", "example_dag", "runtime_images"):  # yes/no, nothing else
        assert set(template_questions[name]["choices"].values()) == {True, False}


def test_no_unrendered_jinja(combo, rendered) -> None:
    project = rendered(combo)
    keep = verbatim_files()
    leftovers = []
    for path in project_files(project):
        rel = str(path.relative_to(project))
        assert "{{" not in rel and "{%" not in rel, f"unrendered file name {rel}"
        if rel in keep:
            continue
        text = path.read_text()
        for expression in AIRFLOW_EXPRESSIONS:
            text = text.replace(expression, "")
        for number, line in enumerate(text.splitlines(), 1):
            if JINJA_MARKERS.search(line):
                leftovers.append(f"{rel}:{number}: {line.strip()}")
    assert not leftovers, "Jinja left in rendered files:\n" + "\n".join(leftovers)


def test_config_files_parse(combo, rendered) -> None:
    project = rendered(combo)
    for path in project_files(project):
        if path.suffix in {".yml", ".yaml"}:
            yaml.safe_load(path.read_text())
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert pyproject["project"]["name"] == "customer-360"

    astro = yaml.safe_load((project / ".astro" / "config.yaml").read_text())
    assert astro == {"project": {"name": "customer-360"}, "disable_astro_run": True}

    dockerfile = (project / "Dockerfile").read_text()
    instructions = [line for line in dockerfile.splitlines() if line and not line.startswith("#")]
    assert instructions == ["FROM layer1-airflow:latest"]
    assert "syntax=" not in dockerfile  # BuildKit would try to pull a frontend image: offline fails

    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    for key, value in combo.items():
        assert answers[key] == value


def test_kerberos_override(combo, rendered) -> None:
    project = rendered(combo)
    override = project / "docker-compose.override.yml"
    if not combo["kerberos"]:
        assert not override.exists()
        return
    compose = yaml.safe_load(override.read_text())
    assert set(compose["services"]) == KERBEROS_SERVICES
    for name, service in compose["services"].items():
        assert "platform_kerberos_cache:/krb5/cache:ro" in service["volumes"], name
    assert compose["volumes"]["platform_kerberos_cache"]["external"] is True
    assert compose["volumes"]["platform_kerberos_cache"]["name"] == "platform_kerberos_cache"


def test_expected_files(combo, rendered) -> None:
    project = rendered(combo)
    for always in (
        "Dockerfile",
        ".astro/config.yaml",
        ".astro/test_dag_integrity_default.py",
        "requirements.txt",
        "packages.txt",
        ".env.example",
        "airflow_settings.yaml",
        ".dockerignore",
        ".gitignore",
        "README.md",
        "pyproject.toml",
        "dags/.airflowignore",
        "dags/customer_360/__init__.py",
        "dags/customer_360/warehouse.py",
        "include/README.md",
        "plugins/README.md",
        "tests/conftest.py",
        "tests/dags/test_dag_integrity.py",
    ):
        assert (project / always).is_file(), always
    example = project / "dags" / "customer_360_example.py"
    assert example.exists() == combo["example_dag"]
    assert (project / "dags/customer_360/models.py").exists() == combo["example_dag"]
    runtime = project / "dags" / "customer_360_runtime_images.py"
    assert runtime.exists() == combo["runtime_images"]
    if combo["runtime_images"]:
        text = runtime.read_text()
        assert 'name="base"' in text and "pod_override" in text and "KubernetesPodOperator(" in text


def ruff() -> str:
    return project_tool("ruff")


def test_ruff_clean(combo, rendered, project_env) -> None:
    project = rendered(combo)
    for args in (["check", "--no-cache", "."], ["format", "--no-cache", "--check", "--diff", "."]):
        result = subprocess.run(
            [ruff(), *args], cwd=project, env=project_env, capture_output=True, text=True
        )
        assert result.returncode == 0, f"ruff {args[0]}:\n{result.stdout}{result.stderr}"


@pytest.fixture(scope="module")
def project_test_runs(
    request, rendered, project_env
) -> dict[str, subprocess.CompletedProcess[str]]:
    """Each selected combination's own test suite, run once, in parallel: each is a
    separate interpreter importing Airflow, so the machine's cores share the work."""
    pytest.importorskip("airflow", reason="the generated tests need apache-airflow 3.3 installed")
    combos = [
        item.callspec.params["suite_combo"]
        for item in request.session.items
        if getattr(item, "originalname", "") == "test_project_tests_pass"
    ]
    projects = {repr(sorted(c.items())): rendered(c) for c in combos}  # copier: one at a time

    def run(project: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
            cwd=project,
            env=project_env,
            capture_output=True,
            text=True,
            timeout=600,
        )

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        return dict(zip(projects, pool.map(run, projects.values()), strict=True))


@pytest.mark.slow
def test_project_tests_pass(suite_combo, project_test_runs) -> None:
    result = project_test_runs[repr(sorted(suite_combo.items()))]
    assert result.returncode == 0, f"pytest in the generated project:\n{result.stdout[-6000:]}"
    assert " passed" in result.stdout


def test_longest_names_stay_ruff_clean(tmp_path, template_repo, render, project_env) -> None:
    """Names go into code lines: the longest allowed name must not break line lengths."""
    name = "a" * 18 + "-" + "b" * 21  # 40 characters, the validator's limit
    project = render(
        template_repo,
        tmp_path / name,
        datakit_name=name,
        owner="a-very-long-team-name.data-engineering@example.com",
        description=" ".join(["word"] * 40),
        runtime_images=True,
        runtime_registry="registry.example.com/some/deep/path/of/registries",
        runtime_repository="adp-runtime-environments",
    )
    for args in (["check", "--no-cache", "."], ["format", "--no-cache", "--check", "--diff", "."]):
        result = subprocess.run(
            [ruff(), *args], cwd=project, env=project_env, capture_output=True, text=True
        )
        assert result.returncode == 0, f"ruff {args[0]}:\n{result.stdout}{result.stderr}"


BROKEN_DAGS = {
    "package_imported_at_module_level": (
        "from airflow.sdk import dag\nfrom customer_360 import warehouse\n",
        "ADP300 error: imports customer_360 at parse time",
    ),
    "no_retries_no_tags_bad_id": (
        "from datetime import datetime\n\nfrom airflow.sdk import dag, task\n\n\n"
        "@dag(dag_id='orders', schedule=None, start_date=datetime(2025, 1, 1),\n"
        "     default_args={'owner': 'team'})\n"
        "def orders():\n    @task\n    def count():\n        return 1\n\n    count()\n\n\n"
        "orders()\n",
        "ADP100 error: DAG id 'orders' must start with 'customer_360_'",
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(BROKEN_DAGS))
def test_project_tests_catch_broken_dags(case, tmp_path, template_repo, render, project_env):
    """The generated integrity tests are not vacuous: they fail on DAGs that break the rules."""
    pytest.importorskip("airflow", reason="the generated tests need apache-airflow 3.3 installed")
    project = render(template_repo, tmp_path / "customer-360", datakit_name="customer-360")
    source, message = BROKEN_DAGS[case]
    (project / "dags" / "customer_360_broken.py").write_text(source)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/dags"],
        cwd=project,
        env=project_env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 1, result.stdout[-4000:]
    assert message in result.stdout, result.stdout[-4000:]
    if case == "no_retries_no_tags_bad_id":
        assert "ADP400 error: DAG 'orders' has no tags" in result.stdout
        assert "ADP402 error: task orders.count has no retries" in result.stdout
