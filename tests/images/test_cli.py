"""`adp images` end to end, as `make` runs it: scaffolding, a failing type among good ones,
push refusal, exit codes, the source tree found from anywhere inside it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import adp
import pytest
from adp.images.config import ConfigError, source_tree
from adp.images.discovery import discover

RUNTIME_ROOT = source_tree().runtime_root
# Subprocesses run the adp this test imports (a relative PYTHONPATH would not survive `cwd`).
ADP_ENV = {"PYTHONPATH": str(Path(adp.__file__).resolve().parents[1])}

TEST_CONFIG = "IMAGE_REGISTRY=\nRUNTIME_REPO=adp-runtime-test\n"


def driver(
    *args: str, env: dict[str, str] | None = None, cwd: Path = RUNTIME_ROOT
) -> subprocess.CompletedProcess:
    """`adp images ARGS` of this source tree (the adp of the running interpreter)."""
    return subprocess.run(
        [sys.executable, "-m", "adp", "images", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **ADP_ENV, **(env or {})},
        check=False,
    )


def make(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "-s", "-C", str(RUNTIME_ROOT), f"ADP={sys.executable} -m adp", *args],
        env={**os.environ, **ADP_ENV},
        capture_output=True,
        text=True,
        check=False,
    )


def test_welcome_and_help() -> None:
    welcome = driver()
    assert welcome.returncode == 0, welcome.stderr
    assert "make images" in welcome.stdout and "dbt-runner" in welcome.stdout
    helped = driver("--help")
    assert helped.returncode == 0
    for command in ("build", "push", "new", "lock", "list", "tag", "config"):
        assert command in helped.stdout


def test_runs_from_anywhere_inside_the_repository() -> None:
    here = driver("tag", "dbt-runner")
    assert here.returncode == 0, here.stderr
    for folder in (RUNTIME_ROOT.parent, RUNTIME_ROOT.parent / "docs", RUNTIME_ROOT / "dbt-runner"):
        out = driver("tag", "dbt-runner", cwd=folder)
        assert out.returncode == 0, out.stderr
        assert out.stdout == here.stdout


def test_outside_the_source_tree_is_named(tmp_path: Path) -> None:
    """adp installed from a wheel finds the tree from the current folder; outside any clone
    the driver says so instead of failing on a missing file."""
    with pytest.raises(ConfigError, match="not inside the platform's source tree") as caught:
        source_tree(here=tmp_path / "site-packages" / "adp" / "images" / "config.py", cwd=tmp_path)
    assert str(tmp_path) in str(caught.value)
    # From a wheel (here: outside the tree), inside a clone: the clone's tree.
    tree = source_tree(here=tmp_path / "adp.py", cwd=RUNTIME_ROOT / "dbt-runner")
    assert tree.runtime_root == RUNTIME_ROOT
    assert tree.facts == source_tree().facts


def test_adp_from_a_wheel_works_inside_a_clone_only(tmp_path: Path) -> None:
    """adp installed elsewhere (here: the package copied as a wheel lays it out, facts.env
    inside) finds the tree from the current folder, and outside one exits 2 saying so."""
    site = tmp_path / "site-packages"
    shutil.copytree(Path(adp.__file__).parent, site / "adp")
    shutil.copy(source_tree().root / "facts.env", site / "adp" / "facts.env")
    wheel = {"PYTHONPATH": str(site)}
    inside = driver("tag", "dbt-runner", env=wheel, cwd=RUNTIME_ROOT.parent / "docs")
    assert inside.returncode == 0, inside.stderr
    assert inside.stdout.strip() == driver("tag", "dbt-runner").stdout.strip()
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    for command in (["list"], ["build"], ["dockerfile", "dbt-runner"], ["lock"], ["new", "x"]):
        out = driver(*command, env=wheel, cwd=outside)
        assert out.returncode == 2, (command, out.stderr)
        assert "not inside the platform's source tree" in out.stderr, command
        assert "Traceback" not in out.stderr


def test_list_json_matches_config() -> None:
    out = driver("list", "--json", env={"IMAGE_REGISTRY": "reg.example.com/team"})
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert [r["name"] for r in rows] == [t.name for t in discover(RUNTIME_ROOT)]
    assert all(r["tag"].startswith("reg.example.com/team/adp-runtime:") for r in rows)


def test_make_passes_overrides_to_the_driver() -> None:
    out = make("list", "PLATFORM_VERSION=9.9.9")
    assert out.returncode == 0, out.stderr
    assert "adp-runtime:dbt-runner-9.9.9" in out.stdout


def test_tag_command() -> None:
    out = driver("tag", "spark-runner", env={"PLATFORM_VERSION": "3.1.4"})
    assert out.stdout.strip() == "adp-runtime:spark-runner-3.1.4"
    bad = driver("tag", "Spark")
    assert bad.returncode == 2 and "runtime type 'Spark'" in bad.stderr


def test_bad_config_exits_2_naming_the_variable() -> None:
    out = driver("list", env={"IMAGE_REGISTRY": "https://reg.example.com"})
    assert out.returncode == 2
    assert "IMAGE_REGISTRY" in out.stderr and "without a scheme" in out.stderr
    old = driver("list", env={"RUNTIME_NETRC": "/home/me/.netrc"})
    assert old.returncode == 2
    assert "RUNTIME_NETRC was renamed NETRC_FILE" in old.stderr


def test_config_prints_every_setting_by_its_one_name() -> None:
    out = driver("config", env={"PACKAGE_INDEX_URL": "https://mirror.example.com/simple"})
    assert out.returncode == 0, out.stderr
    settings = dict(line.split("=", 1) for line in out.stdout.splitlines())
    assert list(settings) == [
        "IMAGE_REGISTRY",
        "RUNTIME_REPO",
        "PLATFORM_VERSION",
        "IMAGE_PYTHON",
        "PACKAGE_INDEX_URL",
        "PACKAGE_INDEX_USERNAME",
        "NETRC_FILE",
        "INDEX_PASSWORD_FILE",
    ]
    facts = source_tree().facts
    assert settings["PLATFORM_VERSION"] == facts.PLATFORM_VERSION
    assert settings["PACKAGE_INDEX_URL"] == "https://mirror.example.com/simple"
    one = driver("config", "IMAGE_PYTHON", env={"IMAGE_PYTHON": ""})
    assert one.returncode == 2 and "IMAGE_PYTHON is empty" in one.stderr
    assert driver("config", "IMAGE_PYTHON").stdout.strip() == facts.IMAGE_PYTHON


def test_push_refuses_without_registry() -> None:
    out = make("images-push", "IMAGE_REGISTRY=")
    assert out.returncode != 0
    assert "IMAGE_REGISTRY is empty" in out.stderr


def test_new_runtime_needs_a_valid_name(tmp_path: Path) -> None:
    assert make("new-runtime").returncode == 2
    bad = driver("new", "Bad_Name", "--root", str(tmp_path))
    assert bad.returncode == 2 and "NAME='Bad_Name'" in bad.stderr
    existing = driver("new", "python-runner", "--no-lock")
    assert existing.returncode == 2 and "already exists" in existing.stderr


def test_new_runtime_scaffolds_a_discoverable_type(tmp_path: Path) -> None:
    out = driver("new", "ml-runner", "--root", str(tmp_path))
    assert out.returncode == 0, out.stderr
    (runtime,) = discover(tmp_path)
    assert runtime.name == "ml-runner"
    # Nothing of the shared Dockerfile is copied: the type builds from it as it is.
    assert sorted(p.name for p in runtime.path.iterdir()) == [
        "README.md",
        "packages.txt",
        "pyproject.toml",
        "requirements.lock",
    ]
    shown = driver("dockerfile", "ml-runner", "--root", str(tmp_path))
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == (RUNTIME_ROOT / "Dockerfile").read_text()
    assert "lock TYPE=ml-runner" in runtime.lock.read_text()
    assert 'name = "adp-ml-runner"' in runtime.pyproject.read_text()


@pytest.mark.docker
def test_failed_type_does_not_hide_the_others(tmp_path: Path, base_image: str) -> None:
    """One good type (freshly scaffolded) and one broken type build side by side."""
    assert driver("new", "good-runner", "--root", str(tmp_path)).returncode == 0
    assert driver("new", "broken-runner", "--root", str(tmp_path), "--no-lock").returncode == 0
    broken = tmp_path / "broken-runner"
    (broken / "requirements.lock").write_text("")
    (broken / "packages.txt").write_text("no-such-debian-package-adp\n")
    config = tmp_path / "images.env"
    config.write_text(TEST_CONFIG)

    version = {"PLATFORM_VERSION": "pytest-cli"}
    out = driver("build", "--json", "--root", str(tmp_path), "--config", str(config), env=version)
    assert out.returncode == 1, out.stderr
    results = {r["name"]: r for r in json.loads(out.stdout)}
    assert set(results) == {"good-runner", "broken-runner"}
    good, bad = results["good-runner"], results["broken-runner"]
    assert good["ok"] and good["size_bytes"] > 0 and good["seconds"] > 0
    assert good["tag"] == "adp-runtime-test:good-runner-pytest-cli"
    assert not bad["ok"] and "no-such-debian-package-adp" in bad["error"]
    assert Path(bad["log"]).is_file()
    # The staged CA never stays behind in the source tree.
    assert not (tmp_path / "good-runner" / "ca-certificates").exists()

    human = driver("build", "--root", str(tmp_path), "--config", str(config), env=version)
    assert human.returncode == 1
    assert "FAILED" in human.stdout and "ok" in human.stdout and "MB" in human.stdout
    subprocess.run(["docker", "rmi", "-f", good["tag"]], capture_output=True, check=False)
