"""docs/threat-model.md links every claim to the test that pins it: each named test exists.

A reference is ``<file>::<test>`` (the file relative to platform-cli/tests/, or tests/... from
the repository's root) or ``::<test>`` (the same file as the reference before it).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "threat-model.md"
REFERENCE = re.compile(r"`(?P<file>[\w/.-]*\.py)?::(?P<test>test_\w+)`")


def functions_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}


def references() -> list[tuple[Path, str]]:
    found: list[tuple[Path, str]] = []
    current: Path | None = None
    for match in REFERENCE.finditer(PAGE.read_text(encoding="utf-8")):
        if match["file"]:
            name = match["file"]
            current = (
                ROOT / name if name.startswith("tests/") else ROOT / "platform-cli/tests" / name
            )
        assert current is not None, f"{match[0]}: no file before it"
        found.append((current, match["test"]))
    return found


def test_every_test_the_threat_model_names_exists() -> None:
    found = references()
    assert len(found) > 30
    missing = [
        f"{path.relative_to(ROOT)}::{test}"
        for path, test in found
        if not path.is_file() or test not in functions_in(path)
    ]
    assert missing == []
