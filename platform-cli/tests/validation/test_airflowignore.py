"""`.airflowignore`: the files Airflow would skip are exactly those Airflow's own walker skips;
they are still scanned, but are not DAG files."""

from __future__ import annotations

from pathlib import Path

import pytest
from adp.validation import ValidationOptions, validate
from adp.validation.airflowignore import AirflowIgnore
from adp_test_helpers.dag_corpus import dag

TREE = [
    "corp_a.py",
    "corp_b_test.py",
    "corp/__init__.py",
    "corp/models.py",
    "scratch/notes.py",
    "scratch/keep.py",
    "team/corp_c.py",
    "team/old/corp_d.py",
    "team/sub/corp_e.py",
    "team/sub/tmp_x.py",
    "vendor/lib.py",
]
IGNORES = {
    ".airflowignore": "# comments and blank lines are skipped\n\ncorp/\n*_test.py\nscratch/*\n"
    "!scratch/keep.py\n/vendor\n",
    "team/.airflowignore": "old\nsub/tmp_*.py  # a pattern relative to team/\n",
}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for name in TREE:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("X = 1\n")
    for name, text in IGNORES.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def test_same_files_as_airflows_own_walker(tree: Path) -> None:
    from airflow.utils.file import find_path_from_directory

    airflow_keeps = {
        Path(p).relative_to(tree).as_posix()
        for p in find_path_from_directory(tree, ".airflowignore", "glob")
        if p.endswith(".py")
    }
    ignore = AirflowIgnore(tree)
    ours = {name for name in TREE if not ignore.ignored(tree / name)}
    assert ours == airflow_keeps
    assert ours == {"corp_a.py", "scratch/keep.py", "team/corp_c.py", "team/sub/corp_e.py"}


def test_ignored_files_are_scanned_but_are_not_dag_files(tmp_path: Path) -> None:
    (tmp_path / ".airflowignore").write_text("helpers/\n")
    (tmp_path / "helpers").mkdir()
    (tmp_path / "helpers" / "dag_tools.py").write_text(
        "# Helpers for airflow DAG files: no DAG here.\nimport subprocess\n"
        "subprocess.run('ls', shell=True)\n"
    )
    (tmp_path / "corp_main.py").write_text(dag("corp_main"))
    report = validate([str(tmp_path)], ValidationOptions(package="corp"))
    assert [(f.rule, Path(f.path).name) for f in report.active()] == [("S602", "dag_tools.py")]
    assert [d.dag_id for d in report.dags] == ["corp_main"]
