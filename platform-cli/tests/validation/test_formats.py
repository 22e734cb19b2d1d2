"""The three report formats carry the same findings; SARIF is valid SARIF 2.1.0 (checked
against the OASIS schema, fetched from the npm registry at a pinned digest), and the JSON report
serves as an environment manifest for the next package."""

from __future__ import annotations

import hashlib
import io
import json
import ssl
import tarfile
import urllib.request
from pathlib import Path

import jsonschema
import pytest
from adp.validation import Report, ValidationOptions, render, validate
from adp_test_helpers.dag_corpus import GITHUB_TOKEN, dag

# @microsoft/jest-sarif ships the SARIF 2.1.0 schema; pinned by its digest.
SCHEMA_TARBALL = "https://registry.npmjs.org/@microsoft/jest-sarif/-/jest-sarif-1.0.0-beta.0.tgz"
SCHEMA_SHA256 = "748e2c3d1a842e7bb258416685c7ea3a0da40005b72267b2052c2856d48ad102"
SCHEMA_MEMBER = "package/lib/schemas/sarif-2.1.0-rtm.5.json"
SYSTEM_CA = Path("/etc/ssl/certs/ca-certificates.crt")


@pytest.fixture(scope="module")
def sarif_schema() -> dict:
    context = ssl.create_default_context(cafile=str(SYSTEM_CA) if SYSTEM_CA.exists() else None)
    with urllib.request.urlopen(SCHEMA_TARBALL, context=context, timeout=60) as response:
        data = response.read()
    assert hashlib.sha256(data).hexdigest() == SCHEMA_SHA256, "the schema package changed"
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        member = archive.extractfile(SCHEMA_MEMBER)
        assert member is not None
        return json.load(member)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Report:
    root = tmp_path_factory.mktemp("formats")
    (root / "corp_formats.py").write_text(
        dag("corp_formats", top=f'GH = "{GITHUB_TOKEN}"', task="return eval('1')")
    )
    (root / "corp_suppressed.py").write_text(
        dag("sales_suppressed", task="return eval('2')  # adp: ignore[S307] a literal")
    )
    (root / "corp_broken.py").write_text("def (:\n")
    return validate([str(root)], ValidationOptions(package="corp"))


def test_sarif_is_valid_against_the_schema(report: Report, sarif_schema: dict) -> None:
    log = json.loads(render(report, "sarif"))
    jsonschema.validate(log, sarif_schema)
    results = log["runs"][0]["results"]
    assert len(results) == len(report.findings)
    suppressed = [r for r in results if r.get("suppressions")]
    assert [s["suppressions"][0]["justification"] for s in suppressed] == ["a literal"]
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    for result in results:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]


def test_sarif_schema_catches_a_broken_log(report: Report, sarif_schema: dict) -> None:
    log = json.loads(render(report, "sarif"))
    log["runs"][0]["results"][0]["level"] = "fatal"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(log, sarif_schema)


def test_json_and_text_carry_the_same_findings(report: Report) -> None:
    data = json.loads(render(report, "json"))
    assert data["passed"] is False
    assert [(f["rule"], f["path"], f["line"]) for f in data["findings"]] == [
        (f.rule, f.path, f.line) for f in report.findings
    ]
    text = render(report, "text")
    for finding in report.active():
        assert f"{finding.location()}: {finding.rule} " in text
    assert text.splitlines()[-2].startswith("FAILED: 3 file(s), 2 DAG(s)")


def test_json_report_is_an_environment_manifest(report: Report, tmp_path: Path) -> None:
    manifest = tmp_path / "corp.json"
    manifest.write_text(render(report, "json"))
    other = tmp_path / "sales"
    other.mkdir()
    (other / "sales_x.py").write_text(dag("corp_formats"))
    options = ValidationOptions(package="sales", env_manifests=[manifest])
    rules = {f.rule for f in validate([str(other)], options).active()}
    assert rules == {"ADP100", "ADP102"}
