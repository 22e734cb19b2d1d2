"""Golden files: a test compares what it made with a copy kept in the repository, and a person
who changed it on purpose rewrites that copy with ``ADP_UPDATE_GOLDEN=1`` and reviews the diff.

Invariant: under CI (``CI`` set to anything but ``""``, ``0`` or ``false``) a set
``ADP_UPDATE_GOLDEN`` is refused: the test fails naming both variables and writes nothing, so a
CI run can never accept its own output as the new golden copy.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import pytest

VARIABLE = "ADP_UPDATE_GOLDEN"
NOT_CI = frozenset({"", "0", "false", "no", "off"})


def under_ci(environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``CI`` says this is a CI run (CI services set ``CI=true``)."""
    env = os.environ if environ is None else environ
    return env.get("CI", "").strip().lower() not in NOT_CI


def update_requested(environ: Mapping[str, str] | None = None) -> bool:
    """True when the golden copy is to be rewritten (``ADP_UPDATE_GOLDEN=1`` off CI); fails
    the test when ``ADP_UPDATE_GOLDEN`` is set under CI."""
    env = os.environ if environ is None else environ
    value = env.get(VARIABLE, "")
    if value and under_ci(env):
        pytest.fail(
            f"{VARIABLE} is set ({VARIABLE}={value!r}) in a CI run (CI={env.get('CI')!r}): golden "
            f"files are rewritten only on a developer's machine, where the diff is reviewed. "
            f"Unset {VARIABLE} in the CI job, or run the test locally without CI set",
            pytrace=False,
        )
    return value == "1"
