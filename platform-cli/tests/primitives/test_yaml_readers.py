"""Every YAML file adp reads that a user or a repository writes goes through adp.yaml_lines:
a document nested past its bound gets the loader's clear message naming the file, never a
RecursionError (one example per reader; test_yaml_lines proves the loader's invariants)."""

from __future__ import annotations

from pathlib import Path

import pytest
from adp.dev import airflow_settings
from adp.dev.errors import DevError
from adp.dev.project import project_name
from adp.generate.spec import SpecError, parse_spec
from adp.yaml_lines import MAX_DEPTH

DEEP = "a: " + "[" * 100_000 + "]" * 100_000 + "\n"
CLEAR = f"nested more than {MAX_DEPTH} levels deep"


def test_a_deep_dag_spec_is_refused_with_the_clear_message() -> None:
    with pytest.raises(SpecError, match=rf"^kpo\.yaml: line 1, column \d+: {CLEAR}"):
        parse_spec(DEEP, "kpo.yaml")


def test_a_deep_airflow_settings_file_is_refused_with_the_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "airflow_settings.yaml"
    path.write_text(DEEP)
    with pytest.raises(
        DevError, match=rf"airflow_settings\.yaml: not valid YAML \(line 1: {CLEAR}"
    ):
        airflow_settings.load(path)


def test_a_deep_astro_config_is_refused_with_the_clear_message(tmp_path: Path) -> None:
    (tmp_path / ".astro").mkdir()
    (tmp_path / ".astro" / "config.yaml").write_text(DEEP)
    with pytest.raises(DevError, match=rf"config\.yaml is not valid YAML \(line 1: {CLEAR}"):
        project_name(tmp_path)
