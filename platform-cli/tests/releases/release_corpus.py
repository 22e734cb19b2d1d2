"""DAG folders for the release tests (made with the validation tests' corpus helpers)."""

from __future__ import annotations

from pathlib import Path

from dag_corpus import dag


def write_dags(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


def good_dags(folder: Path) -> Path:
    """A package 'sales' folder: two DAGs, a helper, a SQL file and an .airflowignore."""
    return write_dags(
        folder,
        {
            "sales_daily.py": dag("sales_daily"),
            "sales_weekly.py": dag("sales_weekly"),
            "sql/report.sql": "select 1;\n",
            ".airflowignore": "sql/\n",
        },
    )
