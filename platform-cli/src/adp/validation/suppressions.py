"""Explicit, reviewable suppressions: inline comments and a baseline file, each with a reason.

``# adp: ignore[RULE, ...] reason`` on the line a finding points at (``ignore-file[...]``
anywhere: the whole file) suppresses those rules there. A baseline is a JSON file of findings
accepted for now, matched by rule and fingerprint (the file and the text of the line, not its
number). Invariants: a suppression without a reason, or naming an unknown rule, suppresses
nothing and is itself a finding (ADP900, ADP901) that cannot be suppressed; one that matches
nothing is ADP902. Upstream scanners' own comments (``noqa``, ``nosec``, ``pragma: allowlist``)
do not suppress anything.
"""

from __future__ import annotations

import io
import json
import re
import tokenize
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ValidationError

from adp.validation.findings import Finding, Report, Suppression
from adp.validation.options import ConfigError, first_problem
from adp.validation.rules import RULES, new_finding
from adp.validation.sources import Source

COMMENT = re.compile(r"#\s*adp:\s*(?P<kind>ignore|ignore-file)\[(?P<rules>[^\]]*)\](?P<reason>.*)$")
UNSUPPRESSIBLE = {"ADP900", "ADP901"}


@dataclass
class _Inline:
    line: int
    column: int
    whole_file: bool
    rules: list[str]
    reason: str
    used: bool = False


def _comments(source: Source) -> list[tuple[int, int, str]]:
    if "adp:" not in source.text:
        return []
    try:
        tokens = tokenize.generate_tokens(io.StringIO(source.text).readline)
        return [
            (t.start[0], t.start[1] + 1, t.string) for t in tokens if t.type == tokenize.COMMENT
        ]
    except (tokenize.TokenError, SyntaxError):  # a file that does not tokenize: plain lines
        return [
            (number, text.index("#") + 1, text[text.index("#") :])
            for number, text in enumerate(source.lines, 1)
            if "#" in text
        ]


def _finding(rule_id: str, path: str, line: int, column: int, message: str) -> Finding:
    return new_finding(rule_id, path, message, line, column)


def inline_suppressions(source: Source) -> tuple[list[_Inline], list[Finding]]:
    found: list[_Inline] = []
    problems: list[Finding] = []
    for line, column, comment in _comments(source):
        match = COMMENT.search(comment)
        if not match:
            continue
        rules = [part.strip() for part in match["rules"].split(",") if part.strip()]
        reason = match["reason"].strip()
        unknown = [r for r in rules if r not in RULES]
        if not rules or unknown:
            problems.append(
                _finding(
                    "ADP901",
                    source.display,
                    line,
                    column,
                    f"the suppression names unknown rule(s): {', '.join(unknown) or '(none)'}",
                )
            )
            continue
        if not reason:
            problems.append(
                _finding(
                    "ADP900",
                    source.display,
                    line,
                    column,
                    f"the suppression of {', '.join(rules)} gives no reason",
                )
            )
            continue
        found.append(_Inline(line, column, match["kind"] == "ignore-file", rules, reason))
    return found, problems


class BaselineEntry(BaseModel):
    rule: str
    path: str
    fingerprint: str
    reason: str = ""


class Baseline(BaseModel):
    version: int = 1
    entries: list[BaselineEntry] = []


def load_baseline(path: Path) -> Baseline:
    try:
        return Baseline.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ConfigError(f"baseline {path}: cannot read it as JSON ({error})") from None
    except ValidationError as error:
        raise ConfigError(
            f"baseline {path}: {first_problem(error)} (write one with --write-baseline)"
        ) from None


def apply(
    report: Report, sources: list[Source], baseline: Baseline | None, baseline_path: str
) -> None:
    """Mark suppressed findings and add the suppressions' own findings to ``report``."""
    by_display = {source.display: source for source in sources}
    inline: dict[str, list[_Inline]] = {}
    extra: list[Finding] = []
    for display, source in by_display.items():
        inline[display], problems = inline_suppressions(source)
        extra += problems
    entries = list(baseline.entries) if baseline else []
    used_entries: set[int] = set()
    for number, entry in enumerate(entries):
        if not entry.reason.strip():
            extra.append(
                _finding(
                    "ADP900",
                    baseline_path,
                    0,
                    0,
                    f"baseline entry {entry.rule} for {entry.path} gives no reason",
                )
            )
            used_entries.add(number)  # reported already: not "unused" too
    accepted: dict[tuple[str, str], int] = {}  # (rule, fingerprint) -> first entry with a reason
    for number, entry in enumerate(entries):
        if entry.reason.strip():
            accepted.setdefault((entry.rule, entry.fingerprint), number)
    for finding in report.findings:
        if finding.rule in UNSUPPRESSIBLE:
            continue
        for comment in inline.get(finding.path, []):
            here = comment.whole_file or comment.line == finding.line
            if here and finding.rule in comment.rules:
                comment.used = True
                finding.suppressed = Suppression(kind="inline", reason=comment.reason)
                break
        if finding.suppressed:
            continue
        entry_number = accepted.get((finding.rule, finding.fingerprint))
        if entry_number is not None:
            used_entries.add(entry_number)
            reason = entries[entry_number].reason.strip()
            finding.suppressed = Suppression(kind="baseline", reason=reason)
    for display, comments in inline.items():
        for comment in comments:
            if not comment.used:
                extra.append(
                    _finding(
                        "ADP902",
                        display,
                        comment.line,
                        comment.column,
                        f"the suppression of {', '.join(comment.rules)} matches no finding",
                    )
                )
    for number, entry in enumerate(entries):
        if number not in used_entries:
            extra.append(
                _finding(
                    "ADP902",
                    baseline_path,
                    0,
                    0,
                    f"baseline entry {entry.rule} for {entry.path} matches no finding",
                )
            )
    report.findings.extend(extra)


def write_baseline(report: Report, path: Path, reason: str) -> int:
    """Record every finding that counts now as accepted, with ``reason`` (those an earlier
    baseline accepted keep theirs); returns how many."""
    if not reason.strip():
        raise ConfigError("--write-baseline needs --reason: why these findings are accepted")
    entries = [
        BaselineEntry(
            rule=f.rule,
            path=f.path,
            fingerprint=f.fingerprint,
            # an entry already accepted keeps its reason; inline suppressions stay inline
            reason=f.suppressed.reason if f.suppressed else reason.strip(),
        )
        for f in report.findings
        if f.rule not in UNSUPPRESSIBLE | {"ADP902"}
        and f.fingerprint
        and (f.suppressed is None or f.suppressed.kind == "baseline")
    ]
    text = Baseline(entries=entries).model_dump_json(indent=2)
    path.write_text(text + "\n", encoding="utf-8")
    return len(entries)
