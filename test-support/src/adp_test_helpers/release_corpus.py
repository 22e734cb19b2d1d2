"""DAG folders (made with the validation tests' corpus helpers) and fresh buckets for the
release tests."""

from __future__ import annotations

import itertools
from pathlib import Path

from adp_test_servers.s3 import S3Server

from adp_test_helpers.dag_corpus import dag

_buckets = itertools.count()


def new_bucket(server: S3Server) -> str:
    name = f"releases-{next(_buckets)}"
    server.create_bucket(name)
    return name


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
