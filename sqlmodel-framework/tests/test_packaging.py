"""The package builds into a wheel that carries its type marker and imports on its own."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from adp import facts
from adp_test_servers.tools import project_tool

PROJECT = Path(__file__).resolve().parents[1]
VERSION = facts.load().PLATFORM_VERSION


def build_wheel(out: Path) -> Path:
    command = [project_tool("uv"), "build", "--wheel", "--out-dir", str(out), str(PROJECT)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}"
    (wheel,) = out.glob(f"sqlmodel_framework-{VERSION}-py3-none-any.whl")
    return wheel


@pytest.mark.slow
def test_wheel_contents_and_import(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path)
    names = zipfile.ZipFile(wheel).namelist()
    for module in (
        "__init__.py", "py.typed", "tables.py", "columns.py", "history.py", "as_of.py",
        "deploy.py", "engines.py", "errors.py", "mssql_temporal.py",
        "triggers/sqlite.py", "triggers/postgresql.py",
    ):  # fmt: skip
        assert f"sqlmodel_framework/{module}" in names, module
    assert not [n for n in names if n.startswith("tests/")]
    metadata_file = f"sqlmodel_framework-{VERSION}.dist-info/METADATA"
    metadata = zipfile.ZipFile(wheel).read(metadata_file).decode()
    (sqlalchemy,) = [line for line in metadata.splitlines() if "Requires-Dist: sqlalchemy" in line]
    assert ">=2.0" in sqlalchemy and "<3" in sqlalchemy  # the Layer-1 image pins 2.1.x
    assert "Provides-Extra: postgres" in metadata and "Provides-Extra: mssql" in metadata
    # Import from the wheel itself (pure Python wheels are importable from the zip).
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import sqlmodel_framework as f; "
        "assert f.__file__.startswith(sys.argv[1]), f.__file__; "
        "from sqlmodel_framework import ReferenceTable, TransactionalTable; print(f.__version__)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(wheel)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == VERSION
