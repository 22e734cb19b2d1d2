"""The examples cannot drift from the template.

Each `examples/<name>/` is a datakit generated from this repository's template: its
`.copier-answers.yml` records the answers and the template commit. Two checks per example,
on a clone of this repository (plus any uncommitted change to the template or the examples,
committed on top, so that a change is tested before it is committed):

- `copier update` to HEAD, run in the example as a user runs it, changes nothing
  (apart from the recorded commit): the example is up to date with the template;
- a fresh `copier copy` of HEAD with the recorded answers gives every file of the example,
  identical, except the files the example's README lists as added or changed by it.

After a template change, `scripts/update-examples` brings every example up to date.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from adp_test_servers.tools import project_tool
from adp_test_support import GIT_ENV, REPO, git, run

EXAMPLES_DIR = REPO / "examples"
EXAMPLES = sorted(p.parent for p in EXAMPLES_DIR.glob("*/.copier-answers.yml"))
ANSWERS = ".copier-answers.yml"
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", ".ruff_cache", ".env")
# What the user's checkout holds beside the tracked files, never part of an example.
LOCAL_ONLY = {"__pycache__", ".pytest_cache", ".ruff_cache", ".git"}
# Answers-file lines that name where and when, not what: the copy's source path and commit.
WHERE_AND_WHEN = re.compile(r"^_(commit|src_path): .*$", re.MULTILINE)
# A row of the README's table: | `path` | added ... | or | `path` | changed ... |
ENV = {**os.environ, **GIT_ENV}
LISTED = re.compile(r"^\| `([^`]+)` \| (added|changed)\b", re.MULTILINE)


def test_there_are_examples() -> None:
    assert [e.name for e in EXAMPLES] == ["kerberos-postgres", "pagila-sqlmodel-basic"]


def files(root: Path) -> dict[str, bytes]:
    """Every file under `root` by relative path. Inside a git work tree: the tracked and the
    untracked files, not the ignored ones (an example the tutorial ran in holds logs/, a
    .env, caches); elsewhere (a fresh copy) every file but caches."""
    inside = run(["git", "rev-parse", "--is-inside-work-tree"], cwd=root, check=False)
    if inside.returncode == 0 and inside.stdout.strip() == "true":
        listed = run(["git", "ls-files", "-co", "--exclude-standard", "-z", "."], cwd=root)
        names = sorted(n for n in listed.stdout.split("\0") if n and (root / n).is_file())
    else:
        names = sorted(
            str(p.relative_to(root))
            for p in root.rglob("*")
            if p.is_file() and not LOCAL_ONLY.intersection(p.relative_to(root).parts)
        )
    return {name: (root / name).read_bytes() for name in names}


def comparable(name: str, content: bytes) -> bytes:
    return WHERE_AND_WHEN.sub("", content.decode()).encode() if name == ANSWERS else content


def differences(left: dict[str, bytes], right: dict[str, bytes]) -> list[str]:
    """Files only in one, or whose content differs (the answers file's commit and source
    path aside)."""
    names = sorted(set(left) | set(right))
    return [
        n
        for n in names
        if n not in left or n not in right or comparable(n, left[n]) != comparable(n, right[n])
    ]


def recorded(example: Path) -> dict[str, Any]:
    return yaml.safe_load((example / ANSWERS).read_text())


@pytest.fixture(scope="module")
def platform_clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clone of this repository, with the working tree's template and examples committed
    on top when they differ from HEAD."""
    clone = tmp_path_factory.mktemp("platform") / "repo"
    run(["git", "clone", "-q", str(REPO), str(clone)], env=ENV)
    for name in ("copier.yml", "templates", "examples"):
        target = clone / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, target, ignore=IGNORED)
        else:
            shutil.copy2(source, target)
    git(clone, "add", "-A")
    if git(clone, "status", "--porcelain"):
        git(clone, "-c", "commit.gpgsign=false", "commit", "-q", "-m", "working tree under test")
    return clone


def head(repo: Path) -> str:
    """HEAD's commit: with the ref "HEAD" Copier would render a dirty clone (each update
    dirties it) as a commit of its own."""
    return git(repo, "rev-parse", "HEAD").strip()


def copier(cwd: Path, *args: str) -> None:
    run([project_tool("copier"), *args], cwd=cwd, env=ENV, timeout=300)


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.name for e in EXAMPLES])
def test_copier_update_to_head_changes_nothing(example: Path, platform_clone: Path) -> None:
    commit = recorded(example)["_commit"]
    assert recorded(example)["_src_path"] == "../..", (
        f"examples/{example.name}/{ANSWERS}: _src_path must be ../.. (the example is generated "
        "from the repository it lives in; run scripts/update-examples)"
    )
    present = run(
        ["git", "cat-file", "-e", f"{commit}^{{commit}}"], cwd=platform_clone, check=False
    )
    assert present.returncode == 0, (
        f"examples/{example.name} records template commit {commit}, which this clone does not "
        "have: fetch the full history (git fetch --unshallow), or run scripts/update-examples"
    )
    target = platform_clone / "examples" / example.name
    copier(target, "update", "--defaults", "--quiet", "--vcs-ref", head(platform_clone))
    after = files(target)
    leftovers = [n for n in after if n.endswith(".rej")]
    leftovers += [n for n, c in after.items() if b"<<<<<<< " in c]
    assert not leftovers, f"copier update left conflicts in examples/{example.name}: {leftovers}"
    changed = differences(files(example), after)
    assert not changed, (
        f"examples/{example.name} is behind the template: copier update from {commit} to HEAD "
        f"changes {changed}. Commit the template change, then run scripts/update-examples and "
        "commit the result"
    )


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.name for e in EXAMPLES])
def test_a_fresh_copy_differs_only_in_the_files_the_readme_lists(
    example: Path, platform_clone: Path, tmp_path: Path
) -> None:
    data = [f"{k}={v}" for k, v in recorded(example).items() if not k.startswith("_")]
    fresh = tmp_path / example.name
    args = [a for d in data for a in ("--data", d)]
    copier(
        tmp_path,
        "copy",
        "--defaults",
        "--quiet",
        "--vcs-ref",
        head(platform_clone),
        *args,
        str(platform_clone),
        str(fresh),
    )
    ours, theirs = files(example), files(fresh)
    missing = sorted(set(theirs) - set(ours))
    assert not missing, f"examples/{example.name} lacks files the template writes: {missing}"
    listed = dict(LISTED.findall((example / "README.md").read_text()))
    actual = {n: "added" if n not in theirs else "changed" for n in differences(ours, theirs)}
    unlisted = {n: c for n, c in actual.items() if listed.get(n) != c}
    stale = {n: c for n, c in listed.items() if actual.get(n) != c}
    assert not unlisted and not stale, (
        f"examples/{example.name}/README.md, 'How this example is made': the table must list "
        f"exactly the files the example adds or changes; add {unlisted}, remove {stale}"
    )
