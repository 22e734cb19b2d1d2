"""Golden snapshot of the default datakit (`copier copy --defaults`).

Every file of the rendering, in path order, in one text file: a template
change shows up as a readable diff in review. Volatile values (the template
source path and commit in .copier-answers.yml) are masked.

After an intended change: ADP_UPDATE_GOLDEN=1 pytest tests/template/test_snapshot.py
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from adp_test_helpers.golden import update_requested

GOLDEN = Path(__file__).parent / "golden" / "default-datakit.snapshot"
VOLATILE = [
    (re.compile(r"^_commit: .*$", re.MULTILINE), "_commit: <masked>"),
    (re.compile(r"^_src_path: .*$", re.MULTILINE), "_src_path: <masked>"),
]


def snapshot(project: Path) -> str:
    parts = []
    for path in sorted(p for p in project.rglob("*") if p.is_file()):
        rel = path.relative_to(project).as_posix()
        text = path.read_text()
        for pattern, replacement in VOLATILE:
            text = pattern.sub(replacement, text)
        mode = "executable" if os.access(path, os.X_OK) else "regular"
        parts.append(f"===== {rel} ({mode}) =====\n{text}")
    return "\n".join(parts)


def test_default_rendering_matches_golden(tmp_path, template_repo, render) -> None:
    project = render(template_repo, tmp_path / "my-datakit")
    actual = snapshot(project)
    if update_requested():  # never under CI
        GOLDEN.write_text(actual)
    assert GOLDEN.exists(), "no golden file yet: run with ADP_UPDATE_GOLDEN=1"
    expected = GOLDEN.read_text()
    assert actual == expected, (
        "the default datakit changed; if intended, run "
        "ADP_UPDATE_GOLDEN=1 pytest tests/template/test_snapshot.py and review the diff"
    )


def test_golden_is_masked() -> None:
    text = GOLDEN.read_text()
    assert "_commit: <masked>" in text and "_src_path: <masked>" in text
    assert "pytest-of-" not in text and "template-repo" not in text
