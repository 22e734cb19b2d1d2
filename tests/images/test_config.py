"""The one place of configuration: images.env -> `<registry>/<repo>:<type>-<version>`."""

from __future__ import annotations

from pathlib import Path

import pytest
from adp.images.config import ConfigError, ImageConfig, load_config, source_tree


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "images.env"
    path.write_text(text)
    return path


BASE = "RUNTIME_REPO=adp-runtime\nRUNTIME_VERSION=1.2.0\nIMAGE_PYTHON=adp-debian-python:bookworm\n"


def test_tag_with_registry(tmp_path: Path) -> None:
    config = load_config(
        write(tmp_path, "RUNTIME_REGISTRY=registry.example.com:5000/data\n" + BASE), {}
    )
    assert (
        config.tag_for("dbt-runner")
        == "registry.example.com:5000/data/adp-runtime:dbt-runner-1.2.0"
    )


def test_tag_without_registry_is_local(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "RUNTIME_REGISTRY=\n" + BASE), {})
    assert config.tag_for("spark-runner") == "adp-runtime:spark-runner-1.2.0"


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, BASE)
    config = load_config(path, {"RUNTIME_VERSION": "2.0.0", "RUNTIME_REGISTRY": "reg.local"})
    assert config.tag_for("python-runner") == "reg.local/adp-runtime:python-runner-2.0.0"


def test_committed_config_is_valid() -> None:
    config = load_config(source_tree().config_file, {})
    assert config.repo and config.version and config.image_python


@pytest.mark.parametrize(
    ("line", "named"),
    [
        ("RUNTIME_REGISTRY=https://registry.example.com", "RUNTIME_REGISTRY"),
        ("RUNTIME_REGISTRY=registry.example.com/", "RUNTIME_REGISTRY"),
        ("RUNTIME_REPO=Adp Runtime", "RUNTIME_REPO"),
        ("RUNTIME_VERSION=-1", "RUNTIME_VERSION"),
        ("RUNTIME_VERSION=1.0/2", "RUNTIME_VERSION"),
        ("RUNTIME_TYPO=x", "unknown key RUNTIME_TYPO"),
        ("UV_DEFAULT_INDEX=https://user:secret@mirror.example.com/simple", "RUNTIME_NETRC"),
        ("UV_DEFAULT_INDEX=mirror.example.com/simple", "UV_DEFAULT_INDEX"),
        ("just words", "expected KEY=value"),
    ],
)
def test_bad_values_are_named(tmp_path: Path, line: str, named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        load_config(write(tmp_path, BASE + line + "\n"), {})


def test_missing_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="missing"):
        load_config(tmp_path / "nope.env", {})


@pytest.mark.parametrize("name", ["Dbt", "dbt_runner", "-x", "dbt--runner", ""])
def test_bad_type_names(name: str) -> None:
    config = ImageConfig("", "adp-runtime", "1", "base")
    with pytest.raises(ConfigError):
        config.tag_for(name)


def test_overlong_tag_is_refused() -> None:
    config = ImageConfig("", "adp-runtime", "1" * 120, "base")
    with pytest.raises(ConfigError, match="128"):
        config.tag_for("dbt-runner")


def test_index_mirror_is_accepted(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + "UV_DEFAULT_INDEX=https://mirror.example.com/pypi/simple\n")
    assert load_config(path, {}).uv_default_index == "https://mirror.example.com/pypi/simple"
