"""facts.env is the one copy of each pinned fact: every reader agrees with it, and no other
file in the tree writes one of its values (docs included), except the few files that must
hold a copy (generated ones, and what Copier can only read from copier.yml), which agree.

After `AIRFLOW_VERSION` changes in facts.env, this test names every file that still says the
old version; `make constraints` and `adp images lock` regenerate the only copies allowed.
"""

from __future__ import annotations

import re
import subprocess
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
import yaml
from adp import facts
from adp.images.config import load_config, source_tree
from adp_test_support import REPO

FACTS = facts.load()
CONSTRAINTS = REPO / FACTS.AIRFLOW_CONSTRAINTS
AIRFLOW_RUNNER_LOCK = REPO / "runtime-environments/airflow-runner/requirements.lock"

# Files that are not the source of a fact: generated from facts.env (checked below), or
# fixtures whose content is data, not a pin.
GENERATED = {
    FACTS.AIRFLOW_CONSTRAINTS,
    "facts.env",
}
GENERATED_SUFFIXES = (".lock", ".snapshot", ".golden", ".yml.golden")


def tracked_text_files() -> list[Path]:
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    files = []
    for name in filter(None, out.split("\0")):
        path = REPO / name
        if name in GENERATED or name.endswith(GENERATED_SUFFIXES) or not path.is_file():
            continue
        if "/golden/" in name:
            continue
        try:
            files.append((path, path.read_text()))
        except UnicodeDecodeError:
            continue
    return files


FILES = tracked_text_files()


def hits(pattern: re.Pattern[str]) -> list[str]:
    found = []
    for path, text in FILES:
        for number, line in enumerate(text.splitlines(), start=1):
            if pattern.search(line):
                found.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    return found


def test_the_file_parses_and_has_no_copy_of_a_key() -> None:
    text = (REPO / "facts.env").read_text()
    assert facts.parse(text) == FACTS
    with pytest.raises(facts.FactsError, match=r"facts.env:1: expected KEY=value"):
        facts.parse('AIRFLOW_VERSION="3"\n')
    with pytest.raises(facts.FactsError, match=r"UV_VERSION: missing, add the line"):
        facts.parse("\n".join(line for line in text.splitlines() if "UV_VERSION" not in line))
    with pytest.raises(facts.FactsError, match=r"NEW_FACT: unknown key"):
        facts.parse(text + "NEW_FACT=1\n")


def test_the_shell_and_make_readers_agree_with_adp() -> None:
    for key, value in FACTS.as_env().items():
        shell = subprocess.run(
            [str(REPO / "scripts/fact"), key], capture_output=True, text=True, check=True
        )
        assert shell.stdout.strip() == value, key
    makefile = f"include {REPO}/scripts/facts.mk\nall:\n" + "".join(
        f"\t@echo {key}=$({key})\n" for key in FACTS.as_env()
    )
    env = {"PATH": "/usr/bin:/bin"}  # nothing from this process's environment
    made = subprocess.run(
        ["make", "-s", "-f", "-"], input=makefile, capture_output=True, text=True, env=env
    )
    assert made.returncode == 0, made.stderr
    assert dict(line.split("=", 1) for line in made.stdout.split()) == FACTS.as_env()
    unknown = subprocess.run(
        [str(REPO / "scripts/fact"), "NOT_A_FACT"], capture_output=True, text=True
    )
    assert unknown.returncode == 2 and "NOT_A_FACT is not in" in unknown.stderr


@pytest.mark.parametrize(
    "distribution",
    ["platform-cli", "sqlmodel-framework", "kerberos-ticket-sharer", "adp-test-servers"],
)
def test_every_platform_package_has_the_platform_version(distribution: str) -> None:
    assert version(distribution) == FACTS.PLATFORM_VERSION


def test_no_pyproject_of_the_platform_writes_a_version() -> None:
    for path in REPO.glob("*/**/pyproject.toml"):
        rel = path.relative_to(REPO)
        # Datakits (the template, and the examples generated from it) carry their own version.
        if rel.parts[0] in {"templates", "examples", "build", ".venv"} or "build" in rel.parts:
            continue
        project = tomllib.loads(path.read_text()).get("project", {})
        if rel.parts[0] == "runtime-environments":
            continue  # lock inputs, never built into a package: checked by their own test
        assert "version" not in project, f"{rel}: use dynamic = ['version'] (facts.env)"
        assert "version" in project.get("dynamic", []), rel


def test_the_constraints_were_resolved_for_the_pinned_airflow_and_python() -> None:
    text = CONSTRAINTS.read_text()
    first = text.splitlines()[0]
    assert first.startswith(
        f"# apache-airflow {FACTS.AIRFLOW_VERSION}, Python {FACTS.PYTHON_VERSION}:"
    ), f"{FACTS.AIRFLOW_CONSTRAINTS} is stale: run make -C layer1-base-image constraints"
    assert f"\napache-airflow=={FACTS.AIRFLOW_VERSION}\n" in text
    assert "apache-airflow==" not in (CONSTRAINTS.with_suffix(".in")).read_text()


def test_the_airflow_runner_lock_runs_the_schedulers_airflow() -> None:
    pins = re.findall(r"^apache-airflow==(\S+)", AIRFLOW_RUNNER_LOCK.read_text(), re.M)
    assert pins == [FACTS.AIRFLOW_VERSION], "run adp images lock airflow-runner"


def test_copier_defaults_that_copier_can_only_read_from_copier_yml_agree() -> None:
    questions = yaml.safe_load((REPO / "copier.yml").read_text())
    assert questions["runtime_version"]["default"] == FACTS.PLATFORM_VERSION, (
        "copier.yml: runtime_version's default is the runtime images' tag version, "
        "facts.env's PLATFORM_VERSION"
    )


def test_copier_runtime_image_defaults_are_images_envs() -> None:
    """A datakit made with the defaults names the images `adp images` tags by default."""
    questions = yaml.safe_load((REPO / "copier.yml").read_text())
    config = load_config(environ={}, tree=source_tree(REPO))  # the tree under test
    assert questions["runtime_registry"]["default"] == config.registry, (
        "copier.yml: runtime_registry's default is runtime-environments/images.env's IMAGE_REGISTRY"
    )
    assert questions["runtime_repository"]["default"] == config.repo, (
        "copier.yml: runtime_repository's default is runtime-environments/images.env's RUNTIME_REPO"
    )


# Every literal copy of a fact anywhere else is a defect: the file must read facts.env, or
# say "the version pinned in facts.env" in words.
COPIES = {
    "AIRFLOW_VERSION": re.escape(FACTS.AIRFLOW_VERSION),
    "UV_VERSION": re.escape(FACTS.UV_VERSION),
    "IMAGE_PYTHON": re.escape(FACTS.IMAGE_PYTHON),
    "IMAGE_ASTRONOMER": re.escape(FACTS.IMAGE_ASTRONOMER.rsplit(":", 1)[1]),
    "ASTRO_RUNTIME_VERSION": rf"(?<![\w.-]){re.escape(FACTS.ASTRO_RUNTIME_VERSION)}(?![\w.])",
    "PYTHON_VERSION": (
        rf"(?:python-version[ =]|python-|python|Python |==){re.escape(FACTS.PYTHON_VERSION)}\b"
    ),
    "PLATFORM_VERSION": (
        rf"(?:layer1-airflow:|__version__ = \"|platform ){re.escape(FACTS.PLATFORM_VERSION)}\b"
    ),
    "DEBIAN_SUITE": rf"\b{re.escape(FACTS.DEBIAN_SUITE)}\b",
}
# Wording that names the suite is allowed where it is prose about Debian packages; these are
# the only lines that may name it.
ALLOWED = {
    "DEBIAN_SUITE": re.compile(r"python:<version>-slim|Debian bookworm's python3"),
    # The host's minimum Python (requires-python of the platform's packages), not the images'.
    "PYTHON_VERSION": re.compile(r"Python 3\.11 or newer|Python 3\.11\+"),
}


@pytest.mark.parametrize("key", sorted(COPIES))
def test_no_other_file_writes_a_copy_of(key: str) -> None:
    pattern = re.compile(COPIES[key])
    allowed = ALLOWED.get(key)
    found = [hit for hit in hits(pattern) if not (allowed and allowed.search(hit))]
    assert not found, (
        f"{key}={FACTS.as_env()[key]} is written outside facts.env; read it from facts.env "
        "(scripts/fact, scripts/facts.mk, adp.facts, a build argument) or name the fact "
        "in words:\n  " + "\n  ".join(found)
    )
