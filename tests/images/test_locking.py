"""Locks resolve for facts.env's Python, under facts.env's Airflow constraints where a type runs
Airflow; the type pyprojects hold no copy of a fact."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from adp.images import locking
from adp.images.config import source_tree
from adp.images.discovery import RuntimeType, discover

TREE = source_tree()


def test_lock_command_takes_python_and_constraints_from_facts() -> None:
    (airflow,) = [t for t in discover(TREE.runtime_root) if t.name == "airflow-runner"]
    cmd = locking.lock_command(airflow, "uv")
    assert cmd[cmd.index("--python-version") + 1] == TREE.facts.PYTHON_VERSION
    constraint = cmd[cmd.index("--constraint") + 1]
    # Relative to the type: the lock's comments hold no absolute path of this machine.
    assert constraint == f"../../{TREE.facts.AIRFLOW_CONSTRAINTS}"
    assert (airflow.path / constraint).resolve() == TREE.airflow_constraints().resolve()
    assert f"-c {constraint}" in airflow.lock.read_text()
    (python,) = [t for t in discover(TREE.runtime_root) if t.name == "python-runner"]
    assert "--constraint" not in locking.lock_command(python, "uv")


def test_type_pyprojects_hold_no_copy_of_a_fact() -> None:
    for runtime in discover(TREE.runtime_root):
        project = tomllib.loads(runtime.pyproject.read_text())["project"]
        assert "version" not in project and project["dynamic"] == ["version"], runtime.name
        assert "requires-python" not in project, runtime.name
        for dependency in project["dependencies"]:
            if dependency.startswith("apache-airflow"):
                assert "=" not in dependency, f"{runtime.name}: the constraints pin {dependency}"


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('constraints = ["../x.txt"]', "replaced by airflow-constraints = true"),
        ("airflow-constraint = true", "unknown key"),
        ('airflow-constraints = "yes"', "write true or false"),
    ],
)
def test_bad_tool_table_is_named(tmp_path: Path, table: str, message: str) -> None:
    folder = tmp_path / "x-runner"
    folder.mkdir()
    (folder / "pyproject.toml").write_text(
        f'[project]\nname = "x"\ndynamic = ["version"]\n\n[tool.runtime-images]\n{table}\n'
    )
    with pytest.raises(locking.LockError, match=message):
        locking.lock_command(RuntimeType("x-runner", folder), "uv")


def test_airflow_constraints_of_the_environment_win_as_for_layer1(monkeypatch) -> None:
    (airflow,) = [t for t in discover(TREE.runtime_root) if t.name == "airflow-runner"]
    other = Path(TREE.facts.AIRFLOW_CONSTRAINTS).with_suffix(".in")
    monkeypatch.setenv("AIRFLOW_CONSTRAINTS", str(other))
    cmd = locking.lock_command(airflow, "uv")
    assert cmd[cmd.index("--constraint") + 1] == f"../../{other}"
    monkeypatch.setenv("AIRFLOW_CONSTRAINTS", "no/such/constraints.txt")
    with pytest.raises(locking.LockError, match=r"no/such/constraints\.txt: missing"):
        locking.lock_command(airflow, "uv")
