"""A commit is exported exactly as its tree holds it: every file, with its blob's bytes.

``git archive`` applies the commit's own ``.gitattributes``: ``export-ignore`` drops files,
``export-subst`` and ``ident`` rewrite them, ``eol``/``text`` convert line ends and
``working-tree-encoding`` re-encodes them. A release named after a commit must hold that
commit's tree, so none of them may change what is exported, validated or published.
"""

from __future__ import annotations

import hashlib
import os
import string
import subprocess
from pathlib import Path

import pytest
from adp.releases.local_store import LocalStore
from adp.releases.pointer import read_manifest
from adp.repos.config import load_config
from adp.repos.git import Credentials
from adp.repos.mirror import Mirror
from adp.repos.promote import Promoter
from adp_test_helpers.repo_support import GIT_ENV, Upstream, dag_text, git, write_config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# Every attribute that changes what git archive (or a checkout) writes for a path.
REWRITING = [
    "export-ignore",
    "export-subst",
    "ident",
    "eol=crlf",
    "text",
    "text eol=crlf",
    "working-tree-encoding=UTF-16",
    "filter=lfs",
    "-text",
]
# Contents that each of those would change: placeholders, line ends, non-ASCII text.
BODIES = [
    "x = 1\n",
    'VERSION = "$Format:%H$"  # $Id$\n',
    "a\nb\r\nc\n",
    "caf\u00e9\n\u00fcber\n",
    "",
    "no newline at the end",
]


def commit_raw(
    upstream: Upstream, files: dict[str, str], message: str, modes: dict[str, str] | None = None
) -> str:
    """Commit ``files`` with these exact bytes as blobs (no attribute of the work tree applies,
    as when a pusher crafts the objects), each with its mode in ``modes`` (default 100644; a
    link is 120000 with its target as text), push it, and return its id."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")} | GIT_ENV
    for path, text in files.items():
        mode = (modes or {}).get(path, "100644")
        oid = subprocess.run(
            ["git", "hash-object", "-w", "--no-filters", "--stdin"],
            cwd=upstream.work, env=env, input=text.encode(), capture_output=True, check=True,
        ).stdout.decode().strip()  # fmt: skip
        git("update-index", "--add", "--cacheinfo", f"{mode},{oid},{path}", cwd=upstream.work)
    git("commit", "--quiet", "-m", message, cwd=upstream.work)
    upstream.push()
    return upstream.head()


def tree_of(work: Path, sha: str, folder: str = "") -> dict[str, bytes]:
    """``path -> bytes`` of every blob of ``sha`` (under ``folder``), as git stores them."""
    spec = f"{sha}:{folder}" if folder else sha
    listing = git("ls-tree", "-r", "-z", spec, cwd=work)
    found: dict[str, bytes] = {}
    for entry in filter(None, listing.split("\0")):
        meta, path = entry.split("\t", 1)
        _, kind, oid = meta.split()
        if kind == "blob":
            found[path] = subprocess.run(
                ["git", "cat-file", "blob", oid], cwd=work, capture_output=True, check=True
            ).stdout
    return found


def exported(folder: Path) -> dict[str, bytes]:
    """``path -> bytes`` of every file (a link's bytes: its target) under ``folder``."""
    found: dict[str, bytes] = {}
    for path in folder.rglob("*"):
        relative = path.relative_to(folder).as_posix()
        if path.is_symlink():
            found[relative] = os.readlink(path).encode()
        elif path.is_file():
            found[relative] = path.read_bytes()
    return found


def mirror_of(upstream: Upstream, root: Path) -> Mirror:
    mirror = Mirror(root / "mirrors", "workflows", upstream.branch)
    mirror.fetch(upstream.url, Credentials(env={"GIT_TERMINAL_PROMPT": "0"}))
    return mirror


def test_the_issues_case_every_file_of_the_commit_is_exported_with_its_blob_bytes(
    tmp_path: Path,
) -> None:
    upstream = Upstream(tmp_path)
    sha = commit_raw(
        upstream,
        {
            "secret.py": "TOKEN_NAME = 'x'\n",
            "dags/a.py": 'V = "$Format:%H$"  # $Id$\n',
            "dags/hidden.py": "import os\n",
            "dags/notes.txt": "a\nb\n",
            "dags/utf16.sql": "select 1;\n",
            ".gitattributes": (
                "secret.py export-ignore\n"
                "dags/hidden.py export-ignore\n"
                "dags/*.py export-subst ident\n"
                "*.txt eol=crlf\n"
                "dags/utf16.sql working-tree-encoding=UTF-16\n"
            ),
        },
        "attributes",
    )
    mirror = mirror_of(upstream, tmp_path)
    whole = mirror.export(sha, "", tmp_path / "whole")
    assert exported(whole) == tree_of(upstream.work, sha)
    assert (whole / "secret.py").read_text() == "TOKEN_NAME = 'x'\n"
    dags = mirror.export(sha, "dags", tmp_path / "dags")
    assert exported(dags) == tree_of(upstream.work, sha, "dags")
    assert set(exported(dags)) == {"a.py", "hidden.py", "notes.txt", "utf16.sql"}


def test_a_filter_driver_or_autocrlf_in_the_mirrors_configuration_changes_nothing(
    tmp_path: Path,
) -> None:
    """Filters run only where a driver is configured; even then the export is the blobs."""
    upstream = Upstream(tmp_path)
    sha = commit_raw(
        upstream,
        {".gitattributes": "* filter=shout\n", "dags/a.py": "x = 'quiet'\n", "b.txt": "a\nb\n"},
        "filtered",
    )
    mirror = mirror_of(upstream, tmp_path)
    config = str(mirror.git_dir / "config")
    git("config", "--file", config, "filter.shout.smudge", "tr a-z A-Z", cwd=tmp_path)
    git("config", "--file", config, "core.autocrlf", "true", cwd=tmp_path)
    assert exported(mirror.export(sha, "", tmp_path / "out")) == tree_of(upstream.work, sha)


def test_a_promoted_release_holds_exactly_the_commits_files(tmp_path: Path) -> None:
    """Through the promoter: a file the commit's attributes export-ignore is validated and
    published, and every published sha256 is the blob's."""
    upstream = Upstream(tmp_path)
    sha = commit_raw(
        upstream,
        {
            # the repository's path is dags: git archive reads the attributes of that folder
            "dags/.gitattributes": "helpers.py export-ignore\n*.py ident\n",
            "dags/sales_daily.py": dag_text("sales_daily"),
            "dags/helpers.py": "# $Id$\nRATE = 3\n",
        },
        "hide a helper",
    )
    config = write_config(
        tmp_path / "airflow-repos.yaml",
        tmp_path / "store",
        [{"name": "workflows", "url": upstream.url, "namespace": "sales", "path": "dags"}],
    )
    store = LocalStore(tmp_path / "store")
    result = Promoter(load_config(config), actor="tester", store=store).sync("workflows")
    assert result.outcome == "promoted", result
    manifest, _ = read_manifest(store, "dev", "sales", sha)
    blobs = tree_of(upstream.work, sha, "dags")
    assert {f.path: f.sha256 for f in manifest.files} == {
        path: hashlib.sha256(data).hexdigest() for path, data in blobs.items()
    }


NAMES = st.text(string.ascii_lowercase + string.digits + "_", min_size=1, max_size=8)
PATHS = st.lists(NAMES, min_size=1, max_size=3).map("/".join)


@st.composite
def trees(draw: st.DrawFn) -> tuple[dict[str, str], dict[str, str], list[str]]:
    """Files (no path both a file and a folder), the modes of some (executable, or a link to
    a file beside it) and attribute lines over their paths."""
    files: dict[str, str] = {}
    for path in draw(st.lists(PATHS, min_size=1, max_size=6, unique=True)):
        parts = path.split("/")
        prefixes = {"/".join(parts[:i]) for i in range(1, len(parts))}
        if prefixes & files.keys() or any(p.startswith(path + "/") for p in files):
            continue
        files[path] = draw(st.sampled_from(BODIES))
    modes: dict[str, str] = {}
    for path in draw(st.lists(st.sampled_from(sorted(files)), unique=True, max_size=3)):
        siblings = [
            p for p in files if p != path and p.rsplit("/", 1)[:-1] == path.rsplit("/", 1)[:-1]
        ]
        if siblings and draw(st.booleans()):  # a link to a file beside it
            modes[path], files[path] = "120000", draw(st.sampled_from(siblings)).rsplit("/", 1)[-1]
        else:
            modes[path] = "100755"
    targets = [*files, "*", "*.py", "**", *{p.split("/")[0] for p in files}]
    lines = draw(
        st.lists(
            st.tuples(st.sampled_from(targets), st.sampled_from(REWRITING)).map(" ".join),
            max_size=6,
        )
    )
    return files, modes, lines


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=trees(), folder_pick=st.booleans())
def test_any_tree_with_any_attributes_is_exported_byte_for_byte(
    tmp_path_factory: pytest.TempPathFactory,
    case: tuple[dict[str, str], dict[str, str], list[str]],
    folder_pick: bool,
) -> None:
    files, modes, lines = case
    root = tmp_path_factory.mktemp("tree")
    upstream = Upstream(root)
    attributes = "\n".join(lines) + "\n"
    sha = commit_raw(upstream, {**files, ".gitattributes": attributes}, "generated", modes)
    folders = sorted({p.split("/")[0] for p in files if "/" in p})
    folder = folders[0] if folder_pick and folders else ""
    mirror = mirror_of(upstream, root)
    out = mirror.export(sha, folder, root / "out")
    assert exported(out) == tree_of(upstream.work, sha, folder)
    for path, mode in modes.items():
        if folder and not path.startswith(folder + "/"):
            continue
        written = out / path.removeprefix(f"{folder}/" if folder else "")
        assert written.is_symlink() == (mode == "120000")
        if mode == "100755":
            assert os.access(written, os.X_OK), path
