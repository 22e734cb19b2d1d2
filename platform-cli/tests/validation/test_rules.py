"""Every rule on the corpus: each case trips exactly its rules, at the line it names, and each
near miss is clean. One validation run covers the corpus (the import check in this venv's
Airflow), so it also proves that one file's problem never leaks into another's result."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest
from adp.validation import Finding, Report, ValidationOptions, validate
from adp_test_helpers.dag_corpus import PACKAGE, Case, write

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Case]]:
    root = tmp_path_factory.mktemp("corpus")
    return root, write(root)


@pytest.fixture(scope="module")
def report(corpus: tuple[Path, list[Case]]) -> Report:
    root, cases = corpus
    manifests = root / "manifests"
    manifests.mkdir()
    (manifests / "sales.json").write_text(
        json.dumps(
            {
                "package": "sales",
                "dags": [{"dag_id": f"{PACKAGE}_taken", "path": "sales_taken.py"}],
                "files": [{"path": "sales_report.py", "sha256": "0" * 64, "size": 1}],
            }
        )
    )
    (manifests / "corp.json").write_text(  # our own previous release: being replaced
        json.dumps({"package": PACKAGE, "dags": [{"dag_id": f"{PACKAGE}_mine"}], "files": []})
    )
    options = ValidationOptions(
        package=PACKAGE,
        import_timeout=6,
        import_time_threshold=1.5,
        env_manifests=[manifests],
    )
    folders = [str(root / "cases" / case.name) for case in cases]
    return validate(folders, options)


def by_case(report: Report, root: Path) -> dict[str, list[Finding]]:
    grouped: dict[str, list[Finding]] = defaultdict(list)
    prefix = str(root / "cases") + "/"
    for finding in report.findings:
        assert finding.path.startswith(prefix), finding
        grouped[finding.path[len(prefix) :].split("/", 1)[0]].append(finding)
    return grouped


def _cases() -> list[Case]:
    from adp_test_helpers.dag_corpus import cases

    return cases()


@pytest.mark.parametrize("case", _cases(), ids=lambda case: case.name)
def test_case_trips_exactly_its_rules(
    case: Case, report: Report, corpus: tuple[Path, list[Case]]
) -> None:
    root, _ = corpus
    found = [f for f in by_case(report, root).get(case.name, []) if f.suppressed is None]
    assert {f.rule for f in found} == case.rules, "\n".join(
        f"{f.location()}: {f.rule} {f.message}" for f in found
    )
    for rule_id, line in case.lines.items():
        lines = {f.line for f in found if f.rule == rule_id}
        assert line in lines, f"{rule_id} should point at line {line}, points at {lines}"
    for finding in found:
        assert finding.fix, finding
        assert finding.severity.value in {"error", "warning"}


def test_every_rule_has_a_case() -> None:
    from adp.validation.rules import RULES

    covered = {rule for case in _cases() for rule in case.rules}
    # Rules proven by their own tests (options that the corpus run cannot share).
    elsewhere = {
        "ADP006": "test_cli.py: a path that does not exist",
        "ADP025": "test_import_target.py: an interpreter without Airflow",
        "ADP026": "test_import_isolation.py: the in-process isolation, forced",
        "ADP301": "test_options.py: package_imports = never",
    }
    ours = {rule for rule in RULES if rule.startswith("ADP")}
    assert ours - covered - set(elsewhere) == set()


def test_no_finding_is_reported_twice(report: Report) -> None:
    keys = [(f.rule, f.path, f.line, f.column) for f in report.findings]
    assert len(keys) == len(set(keys)), sorted(k for k in keys if keys.count(k) > 1)


def test_suppressed_finding_keeps_its_reason(report: Report) -> None:
    suppressed = [f for f in report.findings if f.suppressed is not None]
    assert [(f.rule, f.suppressed.kind, f.suppressed.reason) for f in suppressed] == [
        ("S307", "inline", "the input is a literal")
    ]


def test_dags_are_reported_for_the_manifest(report: Report) -> None:
    ids = {dag.dag_id for dag in report.dags}
    assert f"{PACKAGE}_ok" in ids and "sales_prefix" in ids
    ok = next(dag for dag in report.dags if dag.dag_id == f"{PACKAGE}_ok")
    assert ok.path == f"{PACKAGE}_ok.py" and ok.line > 0


def test_no_secret_value_in_any_report(report: Report) -> None:
    from adp.validation import render
    from adp_test_helpers.dag_corpus import AWS_KEY, GITHUB_TOKEN

    for fmt in ("text", "json", "sarif"):
        out = render(report, fmt)
        assert GITHUB_TOKEN not in out and AWS_KEY not in out and "Tr0ub4dor" not in out


def test_nothing_outside_the_roots_is_read(report: Report, corpus) -> None:
    root, _ = corpus
    assert not [f for f in report.findings if "outside" in f.path]
    assert str(root / "outside") not in "".join(report.files)


def test_every_rule_is_documented() -> None:
    from adp.validation.rules import RULES

    page = Path(__file__).resolve().parents[3] / "docs" / "dag-validation.md"
    text = page.read_text()
    missing = [rule_id for rule_id in RULES if f"`{rule_id}`" not in text and rule_id not in text]
    assert missing == [], f"{page} does not name {missing}"
