"""The report as text (people), JSON (the publisher, the webhook, CI) and SARIF 2.1.0 (code
scanning tools). Invariant: every format carries the same findings; none carries source text,
so a secret found in a file never reaches a report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from adp import __version__
from adp.validation.findings import Report, Severity
from adp.validation.rules import RULES, upstream_rule

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
RUFF_DOCS = "https://docs.astral.sh/ruff/rules/"


def text(report: Report, fail_on: Severity = Severity.error, show_suppressed: bool = False) -> str:
    lines = []
    for finding in report.findings:
        if finding.suppressed and not show_suppressed:
            continue
        mark = (
            f" (suppressed, {finding.suppressed.kind}: {finding.suppressed.reason})"
            if (finding.suppressed)
            else ""
        )
        lines.append(
            f"{finding.location()}: {finding.rule} {finding.severity.value}: "
            f"{finding.message}{mark}"
        )
        lines.append(f"    fix: {finding.fix}")
    lines.append(summary_line(report, fail_on))
    lines += [f"note: {note}" for note in report.notes]
    return "\n".join(lines)


def summary_line(report: Report, fail_on: Severity = Severity.error) -> str:
    counts = report.counts()
    verdict = "FAILED" if report.exit_code(fail_on) else "passed"
    return (
        f"{verdict}: {len(report.files)} file(s), {len(report.dags)} DAG(s); "
        f"{counts['error']} error(s), {counts['warning']} warning(s), "
        f"{counts['suppressed']} suppressed (failing on {fail_on.value})"
    )


def as_json(report: Report, fail_on: Severity = Severity.error) -> str:
    data = report.model_dump(mode="json")
    data = {
        "version": 1,
        "tool": {"name": "adp dags validate", "version": __version__},
        "fail_on": fail_on.value,
        "passed": report.exit_code(fail_on) == 0,
        "summary": report.counts(),
        **data,
    }
    return json.dumps(data, indent=2)


def _help_uri(rule_id: str, tool: str, name: str) -> str | None:
    if tool == "ruff":
        return RUFF_DOCS + name
    if tool == "detect-secrets":
        return "https://github.com/Yelp/detect-secrets#viewing-all-enabled-plugins"
    return None


def sarif(report: Report) -> str:
    used = sorted({f.rule for f in report.findings})
    rules: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    for rule_id in used:
        r = RULES.get(rule_id) or upstream_rule(rule_id, "adp", rule_id)
        index[rule_id] = len(rules)
        entry: dict[str, Any] = {
            "id": r.id,
            "name": r.name,
            "shortDescription": {"text": r.summary},
            "help": {"text": r.fix},
            "defaultConfiguration": {"level": r.severity.value},
            "properties": {"tool": r.tool},
        }
        uri = _help_uri(r.id, r.tool, r.name)
        if uri:
            entry["helpUri"] = uri
        rules.append(entry)
    results = []
    for finding in report.findings:
        path = Path(finding.path)
        uri = path.as_uri() if path.is_absolute() else path.as_posix()
        location: dict[str, Any] = {"artifactLocation": {"uri": uri}}
        if finding.line:
            location["region"] = {"startLine": finding.line, "startColumn": max(finding.column, 1)}
        result: dict[str, Any] = {
            "ruleId": finding.rule,
            "ruleIndex": index[finding.rule],
            "level": finding.severity.value,
            "message": {"text": f"{finding.message}. Fix: {finding.fix}"},
            "locations": [{"physicalLocation": location}],
            "partialFingerprints": {"adpFingerprint/v1": finding.fingerprint},
        }
        if finding.suppressed:
            result["suppressions"] = [
                {
                    "kind": "inSource" if finding.suppressed.kind == "inline" else "external",
                    "justification": finding.suppressed.reason,
                }
            ]
        results.append(result)
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "adp dags validate",
                        "version": __version__,
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2)


def render(report: Report, fmt: str, fail_on: Severity = Severity.error) -> str:
    if fmt == "json":
        return as_json(report, fail_on)
    if fmt == "sarif":
        return sarif(report)
    return text(report, fail_on)
