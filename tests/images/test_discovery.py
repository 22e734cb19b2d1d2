"""Adding a type is one folder: discovery finds it, and names what is missing. Every type
builds from the one shared Dockerfile; a type folder holds only what differs."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from adp.images.builder import (
    FRAGMENT_MARKER,
    BuildOptions,
    DockerError,
    build_command,
    dockerfile_for,
)
from adp.images.config import load_config, source_tree
from adp.images.discovery import (
    FRAGMENT_FILE,
    REQUIRED_FILES,
    DiscoveryError,
    RuntimeType,
    discover,
    select,
)

RUNTIME_ROOT = source_tree().runtime_root
SHARED_DOCKERFILE = source_tree().dockerfile


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


def test_shared_dockerfile_holds_every_stage_once() -> None:
    shared = SHARED_DOCKERFILE.read_text()
    assert "FROM ${IMAGE_PYTHON} AS base" in shared
    assert "# syntax=" not in shared  # BuildKit would try to pull a frontend image
    assert "--require-hashes" in shared
    assert "--mount=type=secret,id=netrc" in shared
    assert shared.splitlines().count(FRAGMENT_MARKER) == 1
    # The driver passes the type; no type is baked into the shared file.
    assert "\nARG RUNTIME_TYPE=\n" in shared


def test_every_type_builds_from_the_shared_dockerfile() -> None:
    """No type folder holds a copy of the shared stages: at most a runtime.dockerfile of its
    own instructions, and what it builds from is the shared file with those inserted."""
    shared = SHARED_DOCKERFILE.read_text().splitlines(keepends=True)
    at = shared.index(FRAGMENT_MARKER + "\n")
    with_fragment = 0
    for runtime in discover(RUNTIME_ROOT):
        assert not list(runtime.path.glob("Dockerfile*")), runtime.name
        built_from = dockerfile_for(runtime)
        assert built_from.startswith("".join(shared[:at])), runtime.name
        assert built_from.endswith("".join(shared[at + 1 :])), runtime.name
        if runtime.fragment.is_file():
            with_fragment += 1
            fragment = runtime.fragment.read_text()
            assert fragment in built_from
            assert "FROM" not in fragment and "USER" not in fragment, runtime.name
            # A fragment is the type's few lines, not a copy of shared ones.
            assert len(fragment.splitlines()) < 15, runtime.name
            shared_instructions = {
                line for line in shared if line.strip() and not line.startswith("#")
            }
            copied = [line for line in fragment.splitlines(True) if line in shared_instructions]
            assert not copied, f"{runtime.fragment}: repeats shared lines {copied}"
        else:
            assert built_from == "".join(shared)
    assert with_fragment >= 4  # dbt, sqlserver, spark and airflow add their own lines


def test_marker_missing_from_shared_dockerfile_is_an_error(tmp_path: Path) -> None:
    shared = tmp_path / "Dockerfile"
    shared.write_text(SHARED_DOCKERFILE.read_text().replace(FRAGMENT_MARKER, "# gone"))
    folder = make_type(tmp_path, "a-runner")
    with pytest.raises(DockerError, match="marker line"):
        dockerfile_for(RuntimeType("a-runner", folder), shared)


def test_new_folder_is_discovered(tmp_path: Path) -> None:
    make_type(tmp_path, "b-runner")
    make_type(tmp_path, "a-runner")
    (tmp_path / "docs").mkdir()  # no type files: not a type
    (tmp_path / "docs" / "README.md").write_text("# notes\n")
    assert [t.name for t in discover(tmp_path)] == ["a-runner", "b-runner"]


@pytest.mark.parametrize("missing", REQUIRED_FILES)
def test_incomplete_folder_names_the_missing_file(tmp_path: Path, missing: str) -> None:
    make_type(tmp_path, "x-runner", skip=missing)
    with pytest.raises(DiscoveryError, match=f"x-runner/{missing}: missing"):
        discover(tmp_path)


def test_a_dockerfile_in_a_type_folder_is_an_error(tmp_path: Path) -> None:
    """The shared stages live in one file; a per-type copy is refused, naming the fix."""
    folder = make_type(tmp_path, "x-runner")
    (folder / "Dockerfile").write_text("FROM scratch\n")
    with pytest.raises(DiscoveryError, match="x-runner/Dockerfile: a type holds no Dockerfile"):
        discover(tmp_path)


def test_a_fragment_may_not_start_a_stage(tmp_path: Path) -> None:
    folder = make_type(tmp_path, "x-runner")
    (folder / FRAGMENT_FILE).write_text("ENV A=1\nfrom scratch\n")
    with pytest.raises(DiscoveryError, match="holds a FROM line"):
        discover(tmp_path)
    (folder / FRAGMENT_FILE).write_text("ENV A=1\n")
    (runtime,) = discover(tmp_path)
    assert "ENV A=1\n" in dockerfile_for(runtime)
    assert FRAGMENT_MARKER not in dockerfile_for(runtime)


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


def test_the_driver_passes_every_argument_the_shared_dockerfile_declares(tmp_path: Path) -> None:
    """The shared Dockerfile keeps no default of a fact (IMAGE_PYTHON, UV_VERSION): the driver
    passes each from facts.env and the settings; credentials only as secrets."""
    shared = SHARED_DOCKERFILE.read_text()
    for fact in ("IMAGE_PYTHON", "UV_VERSION", "PLATFORM_VERSION"):
        assert f"\nARG {fact}\n" in shared, f"ARG {fact} must have no default"
    declared = set(re.findall(r"^ARG ([A-Z_]+)", shared, re.MULTILINE))
    password = tmp_path / "index-password"
    password.write_text("s3cret\n")
    config = replace(
        load_config(environ={}),
        package_index_url="https://mirror.example.com/simple",
        package_index_username="ci",
        index_password_file=str(password),
    )
    folder = make_type(tmp_path, "a-runner")
    cmd = build_command("docker", RuntimeType("a-runner", folder), config, BuildOptions())
    passed = dict(cmd[i + 1].split("=", 1) for i, arg in enumerate(cmd) if arg == "--build-arg")
    assert declared - {"RUNTIME_UID"} == set(passed)  # the uid keeps Airflow's convention
    facts = source_tree().facts
    assert passed["UV_VERSION"] == facts.UV_VERSION
    assert passed["IMAGE_PYTHON"] == facts.IMAGE_PYTHON
    assert passed["PLATFORM_VERSION"] == facts.PLATFORM_VERSION
    assert passed["PACKAGE_INDEX_URL"] == "https://mirror.example.com/simple"
    assert f"id=index_password,src={password}" in cmd
    assert "s3cret" not in " ".join(cmd)
