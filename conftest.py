"""Repository-wide pytest policy.

In CI (CI=true) every prerequisite is installed by .ci/run, so a test that
skips is a broken install step, not an optional feature: the skip is reported
as a failure. The only exception is a test marked `sqlserver`, which needs a
real SQL Server that no machine of this project has (ADP_TEST_MSSQL_URL).
Hypothesis runs derandomized there (the "ci" profile).
"""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

STRICT_SKIPS = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

# The property and fuzz tests (Hypothesis) explore new examples on a developer's machine; in CI
# they run a fixed, reproducible set (the same examples on every run: a failure there can be
# replayed exactly with CI=true), and keep no example database in the clone.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if STRICT_SKIPS:
    settings.load_profile("ci")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    outcome = yield
    report = outcome.get_result()
    if STRICT_SKIPS and report.skipped and item.get_closest_marker("sqlserver") is None:
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where every prerequisite must be installed: {reason}"
