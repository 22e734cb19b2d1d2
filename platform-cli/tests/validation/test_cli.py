"""`adp dags validate` and `adp dags rules`: exit codes 0 clean, 1 findings at or above
--fail-on, 2 usage; baselines; every format on stdout or in a file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from adp.cli.main import app
from adp_test_helpers.dag_corpus import dag
from typer.testing import CliRunner

runner = CliRunner()


def adp(*args: str, cwd: Path | None = None):
    import os

    old = Path.cwd()
    if cwd:
        os.chdir(cwd)
    try:
        return runner.invoke(app, list(args))
    finally:
        os.chdir(old)


@pytest.fixture
def datakit(tmp_path: Path) -> Path:
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "corp_clean.py").write_text(dag("corp_clean"))
    (tmp_path / "pyproject.toml").write_text('[tool.adp.dags]\npackage = "corp"\n')
    return tmp_path


def test_clean_datakit_exits_0(datakit: Path) -> None:
    result = adp("dags", "validate", "--no-import-check", cwd=datakit)
    assert result.exit_code == 0, result.output
    assert "passed: 1 file(s)" in result.output


def test_findings_exit_1_and_warnings_only_with_fail_on_warning(datakit: Path) -> None:
    (datakit / "dags" / "corp_warn.py").write_text(
        dag("corp_warn", task="import hashlib\nreturn hashlib.md5(b'x').hexdigest()")
    )
    assert adp("dags", "validate", "--no-import-check", cwd=datakit).exit_code == 0
    result = adp("dags", "validate", "--no-import-check", "--fail-on", "warning", cwd=datakit)
    assert result.exit_code == 1 and "S324 warning" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "xml"], "--format 'xml'"),
        (["--fail-on", "info"], "fail_on"),
        (["--package", "Bad-Name"], "package"),
        (["--write-baseline", "b.json"], "--write-baseline needs --reason"),
        (["--python", "x", "--image", "y"], "give one"),
        (["--config", "missing.toml"], "no such file"),
    ],
)
def test_usage_errors_exit_2(datakit: Path, args: list[str], message: str) -> None:
    result = adp("dags", "validate", "--no-import-check", *args, cwd=datakit)
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_no_package_anywhere_exits_2(tmp_path: Path) -> None:
    (tmp_path / "dags").mkdir()
    result = adp("dags", "validate", cwd=tmp_path)
    assert result.exit_code == 2 and "--package" in result.output


def test_missing_path_is_a_finding(datakit: Path) -> None:
    result = adp("dags", "validate", "--no-import-check", "dags", "nowhere", cwd=datakit)
    assert result.exit_code == 1 and "nowhere: ADP006 error" in result.output


def test_json_to_a_file(datakit: Path) -> None:
    out = datakit / "report.json"
    result = adp("dags", "validate", "--format", "json", "-o", str(out), cwd=datakit)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("passed: 1 file(s), 1 DAG(s)"), result.output
    data = json.loads(out.read_text())
    assert [d["dag_id"] for d in data["dags"]] == ["corp_clean"] and data["passed"]


def test_baseline_accepts_findings_with_a_reason(datakit: Path) -> None:
    (datakit / "dags" / "corp_old.py").write_text(dag("corp_old", task="return eval('1')"))
    args = ["dags", "validate", "--no-import-check"]
    assert adp(*args, cwd=datakit).exit_code == 1
    written = adp(
        *args, "--write-baseline", "baseline.json", "--reason", "legacy, ticket DATA-1", cwd=datakit
    )
    assert written.exit_code == 0, written.output
    entries = json.loads((datakit / "baseline.json").read_text())["entries"]
    assert [(e["rule"], e["reason"]) for e in entries] == [("S307", "legacy, ticket DATA-1")]
    # Lines moving does not break the baseline: it matches the line's text.
    old = datakit / "dags" / "corp_old.py"
    old.write_text("# moved down\n" + old.read_text())
    accepted = adp(*args, "--baseline", "baseline.json", cwd=datakit)
    assert accepted.exit_code == 0, accepted.output
    assert "1 suppressed" in accepted.output
    # Writing the baseline again while using it keeps the accepted entry and its reason.
    again = adp(
        *args, "--baseline", "baseline.json", "--write-baseline", "baseline.json", "--reason", "x",
        cwd=datakit,
    )  # fmt: skip
    assert again.exit_code == 0, again.output
    kept = json.loads((datakit / "baseline.json").read_text())["entries"]
    assert [(e["rule"], e["reason"]) for e in kept] == [("S307", "legacy, ticket DATA-1")]
    # An entry without a reason suppresses nothing and is a finding itself.
    entries[0]["reason"] = " "
    (datakit / "baseline.json").write_text(json.dumps({"version": 1, "entries": entries}))
    refused = adp(*args, "--baseline", "baseline.json", cwd=datakit)
    assert refused.exit_code == 1 and "ADP900" in refused.output and "S307 error" in refused.output


def test_broken_baseline_exits_2(datakit: Path) -> None:
    (datakit / "baseline.json").write_text("{not json")
    result = adp("dags", "validate", "--baseline", "baseline.json", cwd=datakit)
    assert result.exit_code == 2 and "baseline.json" in result.output


def test_rules_lists_every_rule() -> None:
    result = adp("dags", "rules", "--json")
    rules = {r["id"]: r for r in json.loads(result.output)}
    assert {"ADP020", "ADP100", "S602", "AIR301", "GitHubTokenDetector"} <= set(rules)
    assert all(r["fix"] and r["summary"] for r in rules.values())


def test_library_does_not_import_typer() -> None:
    """The publisher, the webhook and Airflow processes import the library without the CLI."""
    import subprocess
    import sys

    code = "import sys, adp.validation; sys.exit('typer' in sys.modules or 'rich' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
