"""The secret scan finds exactly what detect-secrets' own ``scan_file`` finds (same plugins,
same filters), however it is sped up; its allowlist comments do not count; values never show."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from adp.validation.rules import DETECT_SECRETS_PLUGINS
from adp.validation.scanners import SecretScanner
from adp.validation.sources import collect

# Secret shapes, assembled at run time so that this file holds none.
R = random.Random(7)


def _chars(alphabet: str, n: int) -> str:
    return "".join(R.choice(alphabet) for _ in range(n))


ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
HEX = "0123456789abcdef"
SHAPES = [
    "ghp_" + _chars(ALNUM, 36),
    "glpat-" + _chars(ALNUM, 20),
    "AKIA" + _chars("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16),
    "xoxb-" + _chars("0123456789", 12) + "-" + _chars(ALNUM, 24),
    "sk_live_" + _chars(ALNUM, 24),
    "SG." + _chars(ALNUM, 22) + "." + _chars(ALNUM, 43),
    "SK" + _chars(HEX, 32),
    "AKC" + _chars(ALNUM, 12),
    "pypi-AgEIcHlwaS5vcmc" + _chars(ALNUM, 70),
    "sq0csp-" + _chars(ALNUM, 43),
    _chars(HEX, 40),
    _chars(ALNUM + "+/", 48),
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ." + _chars(ALNUM, 43),
    "-----BEGIN RSA PRIVATE KEY-----",
]
TEMPLATES = [
    'TOKEN = "{s}"',
    "{s}",  # at the very start of a line (anchored patterns)
    "value = '{s}'   ",  # trailing blanks
    '    call(key="{s}", other="{t}")',
    "# a comment with {s} inside",
    'url = "https://admin:{s}@db.example.com:5432/x"',
    "password = '{s}'",
    "api_key: {s}",
    'conn = {{"secret": "{s}"}}  # pragma: allowlist secret',
    "//registry.npmjs.org/:_authToken={s}",
    "print('{s}', \"{t}\")",
]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("secrets")
    for number in range(12):
        lines = ["from airflow.sdk import dag", "", "X = 1"]
        for _ in range(30):
            template = R.choice(TEMPLATES)
            lines.append(template.format(s=R.choice(SHAPES), t=R.choice(SHAPES)))
            if R.random() < 0.3:
                lines.append("y = 'not a secret at all'")
        (root / f"file_{number}.py").write_text("\n".join(lines) + "\n")
    (root / "clean.py").write_text("from airflow.sdk import dag\nNAME = 'customer'\n")
    return root


def _upstream(path: Path) -> set[tuple[int, str]]:
    from detect_secrets.core.scan import scan_file
    from detect_secrets.settings import transient_settings

    config = {"plugins_used": [{"name": name} for name in DETECT_SECRETS_PLUGINS]}
    with transient_settings(config) as settings:
        settings.disable_filters("detect_secrets.filters.allowlist.is_line_allowlisted")
        return {(s.line_number, s.type) for s in scan_file(str(path))}


def test_same_findings_as_detect_secrets_scan_file(files: Path) -> None:
    sources, problems, _ = collect([str(files)], 10**6)
    assert problems == []
    total = 0
    with SecretScanner() as scanner:
        for source in sources:
            ours = {(f.line, f.message.split(" (detect-secrets")[0]) for f in scanner.scan(source)}
            assert ours == _upstream(source.real), source.display
            total += len(ours)
    assert total > 150  # the corpus really holds secrets of many kinds


def test_findings_never_carry_the_value(files: Path) -> None:
    sources, _, _ = collect([str(files)], 10**6)
    with SecretScanner() as scanner:
        findings = [f for source in sources for f in scanner.scan(source)]
    kinds = {f.rule for f in findings}
    assert {"GitHubTokenDetector", "AWSKeyDetector", "KeywordDetector"} <= kinds
    text = " ".join(f.model_dump_json() for f in findings)
    for shape in SHAPES:
        assert shape not in text
