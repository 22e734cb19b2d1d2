"""Adding a type is one folder: discovery finds it, and names what is missing."""

from __future__ import annotations

from pathlib import Path

import pytest
from runtime_images.config import RUNTIME_ROOT
from runtime_images.discovery import REQUIRED_FILES, DiscoveryError, discover, select


def make_type(root: Path, name: str, skip: str | None = None) -> Path:
    folder = root / name
    folder.mkdir()
    for required in REQUIRED_FILES:
        if required != skip:
            (folder / required).write_text("# x\n")
    return folder


def test_repository_types() -> None:
    names = [t.name for t in discover(RUNTIME_ROOT)]
    assert names == sorted(names)
    assert {"dbt-runner", "sqlserver-runner", "spark-runner", "python-runner"} <= set(names)
    # Support folders are not types.
    assert not {"tests", "examples", "runtime_images"} & set(names)


def test_each_repository_type_has_its_files_and_a_hashed_lock() -> None:
    for runtime in discover(RUNTIME_ROOT):
        lock = runtime.lock.read_text()
        assert "--hash=sha256:" in lock or "==" not in lock, runtime.name
        assert f"lock TYPE={runtime.name}" in lock, f"{runtime.lock}: not made by `make lock`"
        dockerfile = runtime.dockerfile.read_text()
        assert "FROM ${IMAGE_PYTHON}" in dockerfile
        assert "# syntax=" not in dockerfile  # BuildKit would try to pull a frontend image
        assert "--require-hashes" in dockerfile
        assert f"ARG RUNTIME_TYPE={runtime.name}" in dockerfile


def test_new_folder_is_discovered(tmp_path: Path) -> None:
    make_type(tmp_path, "b-runner")
    make_type(tmp_path, "a-runner")
    (tmp_path / "docs").mkdir()  # no Dockerfile: not a type
    assert [t.name for t in discover(tmp_path)] == ["a-runner", "b-runner"]


@pytest.mark.parametrize("missing", [f for f in REQUIRED_FILES if f != "Dockerfile"])
def test_incomplete_folder_names_the_missing_file(tmp_path: Path, missing: str) -> None:
    make_type(tmp_path, "x-runner", skip=missing)
    with pytest.raises(DiscoveryError, match=f"x-runner/{missing}: missing"):
        discover(tmp_path)


def test_badly_named_folder_is_an_error(tmp_path: Path) -> None:
    make_type(tmp_path, "X_Runner")
    with pytest.raises(DiscoveryError, match="not a valid runtime type name"):
        discover(tmp_path)


def test_select_unknown_type(tmp_path: Path) -> None:
    make_type(tmp_path, "a-runner")
    types = discover(tmp_path)
    assert select(types, None) == types
    with pytest.raises(DiscoveryError, match=r"unknown runtime type.*nope.*known: a-runner"):
        select(types, ["nope"])


def test_packages_txt_parsing(tmp_path: Path) -> None:
    folder = make_type(tmp_path, "a-runner")
    (folder / "packages.txt").write_text("# header\ngit  # why\n\nunixodbc tdsodbc\n")
    assert discover(tmp_path)[0].debian_packages() == ["git", "unixodbc", "tdsodbc"]
