"""The upstream scanners, run on the same files: ruff (Airflow 3 rules, bandit's checks) and
detect-secrets (hardcoded secrets).

Invariants: only the platform's suppressions count (ruff runs with ``--ignore-noqa``;
detect-secrets' allowlist comments are off), and a secret's value never leaves this module:
a finding names the kind of secret and its line, never the text.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from types import TracebackType

from adp.errors import Failure
from adp.validation.findings import Finding
from adp.validation.rules import DETECT_SECRETS_PLUGINS, RUFF_SELECT, upstream_rule
from adp.validation.sources import Source


class ScannerMissing(Failure, RuntimeError):
    """A scanner is not installed in this environment."""


@cache
def ruff_binary() -> str:
    """The ruff of this Python environment (its ``ruff`` package), never one found on PATH."""
    try:
        from ruff.__main__ import find_ruff_bin
    except ImportError as error:
        raise ScannerMissing(
            f"ruff is not installed for {sys.executable}; install platform-cli with its "
            "dependencies (pip install platform-cli)"
        ) from error
    return os.fsdecode(find_ruff_bin())


def ruff_command(sources: Sequence[Source]) -> list[str]:
    return [
        ruff_binary(),
        "check",
        "--isolated",
        "--no-cache",
        "--ignore-noqa",
        "--preview",
        "--exit-zero",
        "--output-format=json",
        "--target-version=py311",
        f"--select={','.join(RUFF_SELECT)}",
        "--",
        *(str(source.real) for source in sources),
    ]


def ruff_findings(
    sources: Sequence[Source], stdout: str, stderr: str, returncode: int
) -> list[Finding]:
    """Findings from ruff's JSON output (``ruff_command``)."""
    if returncode != 0:
        raise RuntimeError(f"ruff failed (exit {returncode}): {stderr.strip()[:500]}")
    by_path = {str(source.real): source for source in sources}
    findings = []
    for item in json.loads(stdout or "[]"):
        source = by_path.get(item["filename"]) or by_path.get(str(Path(item["filename"]).resolve()))
        if source is None or not item.get("code"):
            continue  # ruff's own syntax errors: ADP010 reports them
        r = upstream_rule(item["code"], "ruff", item["message"])
        findings.append(
            Finding(
                rule=r.id,
                severity=r.severity,
                path=source.display,
                line=item["location"]["row"],
                column=item["location"]["column"],
                message=item["message"],
                fix=r.fix,
                tool="ruff",
            )
        )
    return findings


_ALLOWLIST_FILTER = "detect_secrets.filters.allowlist.is_line_allowlisted"


def _prefilter(plugin: object) -> Callable[[str], object] | None:
    """A whole-file test that is true whenever the plugin could match any line of the file, so
    that a file with no candidate for a plugin costs one regular-expression search, not one call
    per line. None: the plugin is always run line by line.

    - regex plugins: their own patterns, with ``^``/``$`` at every line (re.MULTILINE) over the
      same right-stripped lines the line scan sees;
    - KeywordDetector: each of its patterns contains one of its keywords (case-insensitive);
    - high-entropy plugins: their quoted strings cannot span lines, so the whole-file matches
      are the union of the lines' matches; one above the entropy limit is needed.
    """
    from detect_secrets.plugins import keyword
    from detect_secrets.plugins.base import RegexBasedDetector
    from detect_secrets.plugins.high_entropy_strings import HighEntropyStringsPlugin

    if isinstance(plugin, keyword.KeywordDetector):
        return re.compile("|".join(keyword.DENYLIST), re.IGNORECASE).search
    if isinstance(plugin, HighEntropyStringsPlugin):
        entropy, limit = plugin.calculate_shannon_entropy, plugin.entropy_limit
        return lambda text: any(entropy(found) > limit for found in plugin.analyze_string(text))
    if isinstance(plugin, RegexBasedDetector):
        patterns = [re.compile(p.pattern, p.flags | re.MULTILINE) for p in plugin.denylist]
        return lambda text: any(p.search(text) for p in patterns)
    return None


class SecretScanner:
    """detect-secrets' plugins and filters over lines, each plugin's cheap match first.

    detect-secrets' own ``scan_file`` spends most of its time in dependency injection: it runs
    every line filter on every line, then every plugin through ``call_function_with_arguments``.
    Here a plugin runs only on files where its whole-file prefilter matches (``_prefilter``),
    its ``analyze_line`` is called directly, and the filters (the same ones, through
    detect-secrets' own ``_is_filtered_out``) only on lines where a plugin matched; a filter only
    ever removes candidates, so the result is the same. tests/validation/test_secrets.py checks
    it against detect-secrets' own ``scan_file``.
    """

    def __init__(self) -> None:
        try:
            from detect_secrets.core import scan
            from detect_secrets.settings import transient_settings
            from detect_secrets.util.code_snippet import get_code_snippet
        except ImportError as error:
            raise ScannerMissing(
                f"detect-secrets is not installed for {sys.executable}; install platform-cli with "
                "its dependencies"
            ) from error
        self._scan = scan
        self._snippet = get_code_snippet
        self._settings = transient_settings(
            {"plugins_used": [{"name": name} for name in DETECT_SECRETS_PLUGINS]}
        )

    def __enter__(self) -> SecretScanner:
        settings = self._settings.__enter__()
        settings.disable_filters(_ALLOWLIST_FILTER)
        self._scan.get_filters.cache_clear()
        self._plugins = [(plugin, _prefilter(plugin)) for plugin in self._scan.get_plugins()]
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._settings.__exit__(exc_type, exc, traceback)

    def scan(self, source: Source) -> list[Finding]:
        filtered = self._scan._is_filtered_out
        filename = str(source.real)
        if filtered(required_filter_parameters=["filename"], filename=filename):
            return []
        findings = []
        stripped = [raw.rstrip() for raw in source.lines]
        text = "\n".join(stripped)
        plugins = [plugin for plugin, maybe in self._plugins if maybe is None or maybe(text)]
        if not plugins:
            return []
        for number, line in enumerate(stripped, 1):
            candidates = [
                (plugin, secret)
                for plugin in plugins
                for secret in plugin.analyze_line(
                    filename=filename, line=line, line_number=number, context=None
                )
                or ()
            ]
            if not candidates:
                continue
            context = self._snippet(lines=source.lines, line_number=number)
            if filtered(
                required_filter_parameters=["line"], filename=filename, line=line, context=context
            ):
                continue
            kinds: dict[str, str] = {}
            for plugin, secret in candidates:
                value = secret.secret_value
                if filtered(
                    required_filter_parameters=["secret"],
                    filename=filename,
                    secret=value,
                    plugin=plugin,
                    line=line,
                ) or filtered(
                    required_filter_parameters=["context"],
                    filename=filename,
                    secret=value,
                    plugin=plugin,
                    line=line,
                    context=context,
                ):
                    continue
                kinds.setdefault(type(plugin).__name__, secret.type)
            for plugin_name, kind in kinds.items():
                r = upstream_rule(plugin_name, "detect-secrets", kind)
                findings.append(
                    Finding(
                        rule=r.id,
                        severity=r.severity,
                        path=source.display,
                        line=number,
                        column=1,
                        message=f"{kind} (detect-secrets {plugin_name}); value not shown",
                        fix=r.fix,
                        tool="detect-secrets",
                    )
                )
        return findings
