"""DAG validation and security scan: the one library behind ``adp dags validate``.

Contract: ``validate(paths, options)`` reads only files under ``paths``, never crashes on what it
finds there (every problem is a ``Finding`` with a stable rule id, severity, file:line:column,
message and fix), imports the DAG files only in the target environment (an interpreter or an
image, network blocked, no metadata database, a timeout per file), and returns the same
``Report`` to every caller: the CLI, CI, the publisher, the git promoter, the webhook and the
datakit's own tests. ``render`` turns it into text, JSON or SARIF. Bad options, manifests or
baselines raise ``ConfigError`` before anything runs. Pure library: no typer. A long-running
caller may own an ``ImportStandby`` and pass it (``validate(..., standby=...)``): the import
check then takes a worker started in advance.

The rules are listed in ``rules.RULES`` (``adp dags rules``); docs/dag-validation.md
explains each one.
"""

from adp.validation.engine import validate
from adp.validation.findings import DagInfo, Finding, Report, Severity
from adp.validation.formats import render
from adp.validation.import_check import ImportStandby
from adp.validation.options import (
    ConfigError,
    ImportTarget,
    PackageImports,
    ValidationOptions,
    build_options,
    load_pyproject,
)
from adp.validation.rules import RULES, Rule
from adp.validation.suppressions import write_baseline

__all__ = [
    "RULES",
    "ConfigError",
    "DagInfo",
    "Finding",
    "ImportStandby",
    "ImportTarget",
    "PackageImports",
    "Report",
    "Rule",
    "Severity",
    "ValidationOptions",
    "build_options",
    "load_pyproject",
    "render",
    "validate",
    "write_baseline",
]
