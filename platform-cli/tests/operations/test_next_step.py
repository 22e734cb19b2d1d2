"""A next step is data (``adp.errors.NextStep``), never command text: the library's results and
refusals carry it, and each front end words it itself: the CLI as ``adp repos approve NAME
SHA``, the MCP server as its tool call, the UI's page as its button. No library module writes
``adp repos`` or ``adp dags`` command text into a message."""

from __future__ import annotations

import ast
from pathlib import Path

import adp
import pytest
from adp.cli import repos as cli
from adp.errors import NextStep, Problem
from adp.mcp import models as mcp
from adp.mcp.operations import chat_text
from adp.operations import Caller, Refused
from adp.operations import repos as ops
from adp.operations.repos import NewRepository
from adp.repos.state import CommitNote
from adp.ui import actions as ui
from adp_test_helpers.repo_support import Upstream, dag_text
from hypothesis import assume, given, settings
from hypothesis import strategies as st

CALLER = Caller(actor="tester")
ACTIONS = ("approve", "rollback", "status", "sync")
SHAS = st.from_regex(r"[0-9a-f]{40}", fullmatch=True)
NAMES = st.from_regex(r"[a-z][a-z0-9_-]{0,30}", fullmatch=True)


def test_a_pending_commit_and_a_refusal_carry_their_next_step_as_data(tmp_path: Path) -> None:
    upstream = Upstream(tmp_path)
    sha = upstream.commit({"dags/sales_daily.py": dag_text("sales_daily")}, "first")
    config = tmp_path / "airflow-repos.yaml"
    new = NewRepository(name="workflows", url=upstream.url, namespace="sales", path="dags",
                        auto_deploy=False)  # fmt: skip
    added = ops.add_repository(config, new, CALLER, str(tmp_path / "store"), "dev", reason="t")
    step = NextStep(action="approve", repository="workflows", commit=sha)
    for result in (added.sync, ops.sync(config, "workflows", CALLER)):  # new, then known
        assert result is not None and result.outcome == "pending"
        assert result.next_step == step
        assert result.detail == "passed validation; auto_deploy is off"
        # the CLI's output is what it was when the library wrote the command
        assert cli.with_step(result.detail, result.next_step) == (
            f"passed validation; auto_deploy is off: adp repos approve workflows {sha}"
        )
        assert mcp.SyncReport.of(result).detail.endswith(f": approve workflows {sha}")
        assert ui.ActionResult.of(result).detail.endswith(
            f": approve {sha[:12]} of workflows with its Approve button"
        )
    with pytest.raises(Refused) as waiting:
        ops.approve(config, "workflows", "0" * 40, CALLER)
    problem = waiting.value.problems[0]
    assert problem.loc == ("sha",) and "not waiting for approval" in problem.message
    assert problem.next_step == NextStep(action="status", repository="workflows")
    assert "adp repos" not in str(waiting.value)


def test_a_state_file_written_with_the_command_in_its_reason_still_loads() -> None:
    """Older state files end a pending commit's reason with the CLI's command; it is read
    without it (the front ends add the next step in their own words)."""
    sha = "a" * 40
    old = {
        "sha": sha,
        "reason": f"passed validation; auto_deploy is off: adp repos approve w {sha}",
    }
    assert CommitNote.model_validate(old).reason == "passed validation; auto_deploy is off"
    rewritten = {
        "sha": sha,
        "reason": f"history rewritten: x. After review: adp repos approve w {sha}",
    }
    note = CommitNote.model_validate(rewritten)
    assert (note.reason, note.rewritten) == ("history rewritten: x. After review", True)


@settings(max_examples=60, deadline=None)
@given(action=st.sampled_from(ACTIONS), name=NAMES, sha=st.one_of(st.none(), SHAS))
def test_each_front_end_names_the_action_repository_and_commit_in_its_own_words(
    action: str, name: str, sha: str | None
) -> None:
    assume("button" not in name and "source_status" not in name and "section" not in name)
    step = NextStep.model_validate({"action": action, "repository": name, "commit": sha})
    takes_commit = action in ("approve", "rollback")
    commit = [sha or "<sha>"] if takes_commit else []
    said = {
        "cli": cli.command(step),
        "mcp": mcp.tool_call(step),
        "ui": ui.page_words(step),
    }
    assert said["cli"] == " ".join(["adp", "repos", action, name, *commit])
    assert said["mcp"] == " ".join([mcp.TOOLS[action], name, *commit])
    assert name in said["ui"].split()
    if takes_commit and sha and action == "approve":
        assert sha[:12] in said["ui"]
    verb = {"approve": "approve", "rollback": "roll", "status": "lists", "sync": "sync"}[action]
    assert verb in said["ui"].split()
    # no front end's text holds another's syntax
    assert "adp repos" not in said["mcp"] and "adp repos" not in said["ui"]
    assert "source_status" not in said["cli"] and "source_status" not in said["ui"]
    assert "button" not in said["cli"] and "button" not in said["mcp"]
    assert "section" not in said["cli"] and "section" not in said["mcp"]

    # a refusal's next step, in each front end's rendering of the error
    refused = Refused(problems=[Problem(message="m", loc=("sha",), next_step=step)])
    assert chat_text(refused.problems) == f"sha: m ({said['mcp']})"
    assert ui.detail(refused) == f"sha: m ({said['ui']})"
    with pytest.raises(Refused) as shown, cli._positional():
        raise refused
    assert str(shown.value) == f"m ({said['cli']})"


# -- no library module writes a front end's command into a message ---------------------------
LIBRARIES = ("repos", "operations", "releases", "sync")
# Text that names a command and is not a message: help, a file's header, or legacy reading.
ALLOWED = {
    # the header comment written at the top of a new airflow-repos.yaml (help for its reader)
    ("repos/edit.py", "# adp repos add|remove edit it"),
    # help text shown next to the GitDagBundle entries (what needs a restart)
    ("repos/git_bundles.py", "adp dags bundle-config, needs none"),
    # reads reasons of older state files (which ended with the command); never writes it
    ("repos/state.py", ": adp repos approve"),
}
# Messages that still name a command (outside this change's files): each is to become a
# next step as data; the test fails when one is added, and when one is gone (shrink the list).
KNOWN_OPEN = {
    ("repos/config.py", "adp repos list"),
    ("repos/config.py", "adp repos add writes it"),
    ("repos/edit.py", "to let adp repos edit it"),
    ("releases/pointer.py", "repair it with adp dags rollback"),
    ("releases/pointer.py", "adp dags list shows the releases"),
    ("releases/pointer.py", "check adp dags list and run again"),
    ("releases/publish.py", "adp dags validate shows the same findings"),
}


def _command_texts() -> set[tuple[str, str]]:
    """(module, text) of every string constant naming ``adp repos``/``adp dags`` that is not a
    docstring, in the library packages."""
    root = Path(adp.__file__).parent
    found: set[tuple[str, str]] = set()
    for package in LIBRARIES:
        for path in sorted((root / package).rglob("*.py")):
            tree = ast.parse(path.read_text(), str(path))
            docstrings = {
                id(node.body[0].value)
                for node in ast.walk(tree)
                if isinstance(
                    node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
                )
                and node.body
                and isinstance(node.body[0], ast.Expr)
                and isinstance(node.body[0].value, ast.Constant)
            }
            module = path.relative_to(root).as_posix()
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Constant)
                    and isinstance(node.value, str)
                    and id(node) not in docstrings
                    and ("adp repos" in node.value or "adp dags" in node.value)
                ):
                    found.add((module, node.value))
    return found


def test_no_library_module_writes_a_command_into_a_message() -> None:
    texts = _command_texts()
    listed = ALLOWED | KNOWN_OPEN
    unlisted = sorted(t for t in texts if not any(m == t[0] and s in t[1] for m, s in listed))
    assert not unlisted, f"a message names a CLI command (make it a NextStep): {unlisted}"
    gone = sorted(e for e in listed if not any(m == e[0] and e[1] in s for m, s in texts))
    assert not gone, f"no longer found (remove from the list): {gone}"
