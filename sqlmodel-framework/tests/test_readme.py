"""The README's worked example runs and prints what the README says it prints."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def worked_example() -> str:
    section = README.read_text().split("## Worked example", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "README has no python block under 'Worked example'"
    return match.group(1)


def test_worked_example_runs(tmp_path: Path) -> None:
    script = tmp_path / "example.py"
    script.write_text(worked_example())
    result = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "['created table customer with its history table and triggers', "
        "'created table payment with its triggers']",
        "Berlin True",
        "{1: 'London', 2: 'Paris'} {2: 'Berlin'}",
        "(1, 'London', 'U')",
        "(2, 'Paris', 'U')",
        "(1, 'Berlin', 'U')",
    ]
    assert (tmp_path / "example.sqlite").exists()


def test_schema_drift_guarantee_is_documented_with_the_real_message() -> None:
    """The README's Schema drift section quotes the error the triggers raise."""
    from sqlalchemy import MetaData, Table
    from sqlmodel_framework.drift import guard_message_parts

    section = README.read_text().split("### Schema drift", 1)[1].split("\n## ", 1)[0]
    text = " ".join(section.replace("`", "").split())
    customer, history = Table("customer", MetaData()), Table("customer_history", MetaData())
    before, after = guard_message_parts(customer, history)
    quoted = before + "its columns differ from those its triggers were deployed for ("
    assert quoted in text
    assert after.split(" (it adds")[0].lstrip(")") in text
    for claim in ("The write path refuses.", "deploy() brings history up to date or refuses"):
        assert claim in text
