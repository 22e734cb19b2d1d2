"""Options: where the package's code may be imported, pyproject settings, bad settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from adp.validation import (
    ConfigError,
    PackageImports,
    Severity,
    ValidationOptions,
    build_options,
    load_pyproject,
    validate,
)
from adp_test_helpers.dag_corpus import dag

PACKAGE_FILES = {"corp/__init__.py": "", "corp/models.py": "LIMIT = 3\n"}


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def _rules(root: Path, **options: object) -> set[str]:
    report = validate([str(root)], ValidationOptions(package="corp", import_check=False, **options))
    return {f.rule for f in report.active()}


def test_package_imports_never_refuses_even_inside_tasks(tmp_path: Path) -> None:
    text = dag("corp_never", task="from corp.models import LIMIT\nreturn LIMIT")
    root = _tree(tmp_path, {"corp_never.py": text, **PACKAGE_FILES})
    assert _rules(root, package_imports=PackageImports.never) == {"ADP301"}
    assert _rules(root, package_imports=PackageImports.inside_tasks) == set()


def test_package_imports_anywhere_allows_module_level(tmp_path: Path) -> None:
    text = dag("corp_anywhere", top="from corp.models import LIMIT")
    root = _tree(tmp_path, {"corp_anywhere.py": text, **PACKAGE_FILES})
    assert _rules(root, package_imports=PackageImports.anywhere) == set()
    assert _rules(root) == {"ADP300"}  # the default: inside tasks only


def test_package_modules_may_import_their_own_package(tmp_path: Path) -> None:
    files = {**PACKAGE_FILES, "corp/jobs.py": "from corp.models import LIMIT\n"}
    root = _tree(tmp_path, files)
    assert _rules(root, package_imports=PackageImports.never) == set()


def test_pyproject_table_is_read(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[tool.adp.dags]\npackage = "corp"\npackage-imports = "never"\nfail_on = "warning"\n'
    )
    options = build_options(load_pyproject(pyproject), str(pyproject))
    assert options.package == "corp"
    assert options.package_imports is PackageImports.never
    assert options.fail_on is Severity.warning


@pytest.mark.parametrize(
    ("table", "named"),
    [
        ('package = "Corp-Data"', "package"),
        ("import_timeout = -1", "import_timeout"),
        ('package_imports = "sometimes"', "package_imports"),
        ("colour = true", "colour"),
    ],
)
def test_bad_setting_names_file_and_field(tmp_path: Path, table: str, named: str) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(f"[tool.adp.dags]\n{table}\n")
    with pytest.raises(ConfigError) as raised:
        build_options(load_pyproject(pyproject), str(pyproject))
    assert str(pyproject) in str(raised.value) and named in str(raised.value)


def test_broken_toml_is_a_config_error(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text("[tool.adp.dags\n")
    with pytest.raises(ConfigError, match="cannot read it as TOML"):
        load_pyproject(pyproject)


def test_bad_manifest_changes_nothing_and_names_the_file(tmp_path: Path) -> None:
    manifest = tmp_path / "other.json"
    manifest.write_text('{"dags": []}')
    with pytest.raises(ConfigError, match=r"other\.json: package"):
        validate([str(tmp_path)], ValidationOptions(package="corp", env_manifests=[manifest]))
