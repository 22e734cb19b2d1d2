"""`copier update` brings template changes into an existing datakit.

The invariant (as in DiamondLightSource/python-copier-template): updating an
untouched datakit from an older template version gives exactly the tree a
fresh copy of the new version gives, with no conflicts. `copier update` exits
0 even when it leaves conflicts, so the tests look for conflict markers and
*.rej files themselves.

The template repositories here are throw-away git repositories holding only
copier.yml and templates/, with an older version tagged v1.0.0 and the
current files tagged v2.0.0. The older versions are (1) the first commit of
this monorepo that has a copier.yml, taken from git history, and (2) the
current template with typical changes undone (a file added, a file removed,
lines changed).
"""

from __future__ import annotations

import os
import pty
import re
import select
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from adp_test_servers.tools import project_tool
from adp_test_support import GIT_ENV

REPO_ROOT = Path(__file__).resolve().parents[2]
ANSWERS = {"datakit_name": "customer-360", "owner": "team-360"}
CONFLICT_MARKERS = ("<<<<<<< ", ">>>>>>> ")


def tree(project: Path) -> dict[str, str]:
    skip = {".git", "__pycache__", ".pytest_cache", ".ruff_cache"}
    return {
        p.relative_to(project).as_posix(): p.read_text()
        for p in sorted(project.rglob("*"))
        if p.is_file() and not skip.intersection(p.relative_to(project).parts)
    }


def conflicts(project: Path) -> list[str]:
    found = [f"{rel}: *.rej" for rel in tree(project) if rel.endswith(".rej")]
    for rel, text in tree(project).items():
        for number, line in enumerate(text.splitlines(), 1):
            if line.startswith(CONFLICT_MARKERS) or line == "=======":
                found.append(f"{rel}:{number}: {line}")
    return found


def first_template_commit() -> str | None:
    """The oldest commit of this repository that has copier.yml, if history is available."""
    result = subprocess.run(
        ["git", "log", "--diff-filter=A", "--format=%H", "--", "copier.yml"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    commits = result.stdout.split()
    return commits[-1] if result.returncode == 0 and commits else None


def export_commit(commit: str, dst: Path) -> None:
    dst.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "archive", "--format=tar", commit, "copier.yml", "templates"],
        cwd=REPO_ROOT,
        capture_output=True,
        check=True,
    )
    subprocess.run(["tar", "-x", "-C", str(dst)], input=archive.stdout, check=True)


def undo_typical_changes(root: Path) -> None:
    """Make the current template look like an older release of itself."""
    datakit = root / "templates" / "datakit"
    (datakit / "include" / "README.md").unlink()  # v2 adds this file
    (datakit / "plugins" / "OBSOLETE.md").write_text("Removed in v2.\n")  # v2 removes it
    readme = datakit / "README.md.jinja"
    readme.write_text(readme.read_text().replace("## Daily use", "## Usage"))
    gitignore = datakit / ".gitignore"
    gitignore.write_text(gitignore.read_text().replace(".ruff_cache/\n", ""))


def make_repo(tmp_path: Path, git_cmd, old: Path) -> Path:
    """A template repository: `old` tagged v1.0.0, the current files tagged v2.0.0."""
    repo = tmp_path / "template-repo"
    shutil.copytree(old, repo)
    git_cmd(repo, "init", "-q")
    git_cmd(repo, "add", "-A")
    git_cmd(repo, "commit", "-q", "-m", "older template")
    git_cmd(repo, "tag", "v1.0.0")
    for name in ("copier.yml", "templates"):
        target = repo / name
        shutil.rmtree(target) if target.is_dir() else target.unlink()
        source = REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target)
    git_cmd(repo, "add", "-A")
    git_cmd(repo, "commit", "-q", "--allow-empty", "-m", "current template")
    git_cmd(repo, "tag", "v2.0.0")
    return repo


def old_versions(tmp_path: Path) -> dict[str, Path]:
    versions = {}
    synthetic = tmp_path / "old-synthetic"
    synthetic.mkdir()
    shutil.copy2(REPO_ROOT / "copier.yml", synthetic / "copier.yml")
    shutil.copytree(
        REPO_ROOT / "templates",
        synthetic / "templates",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    undo_typical_changes(synthetic)
    versions["synthetic"] = synthetic
    return versions


def copy_as_user(repo: Path, dst: Path, ref: str, git_cmd, **answers) -> Path:
    from copier import run_copy

    run_copy(str(repo), str(dst), data=answers, defaults=True, vcs_ref=ref, quiet=True)
    git_cmd(dst, "init", "-q")
    git_cmd(dst, "add", "-A")
    git_cmd(dst, "commit", "-q", "-m", f"datakit from template {ref}")
    return dst


def update(project: Path, copier_cli, *extra: str) -> subprocess.CompletedProcess[str]:
    result = copier_cli("update", "--defaults", "--vcs-ref", "v2.0.0", *extra, cwd=project)
    assert result.returncode == 0, f"copier update failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(params=["first-commit", "synthetic"])
def old_template(request, tmp_path) -> Path:
    if request.param == "first-commit":
        commit = first_template_commit()
        if commit is None:
            pytest.skip("no git history with copier.yml (not a git checkout?)")
        old = tmp_path / "old-first-commit"
        export_commit(commit, old)
        return old
    return old_versions(tmp_path)["synthetic"]


def test_update_equals_fresh_copy(tmp_path, old_template, git_cmd, copier_cli) -> None:
    repo = make_repo(tmp_path, git_cmd, old_template)
    project = copy_as_user(
        repo, tmp_path / "updated" / "customer-360", "v1.0.0", git_cmd, **ANSWERS
    )
    update(project, copier_cli)
    assert conflicts(project) == []
    fresh = copy_as_user(repo, tmp_path / "fresh" / "customer-360", "v2.0.0", git_cmd, **ANSWERS)
    updated_tree, fresh_tree = tree(project), tree(fresh)
    assert sorted(updated_tree) == sorted(fresh_tree)
    different = [rel for rel in fresh_tree if updated_tree[rel] != fresh_tree[rel]]
    assert different == [], f"update differs from a fresh copy in: {different}"
    assert yaml.safe_load(updated_tree[".copier-answers.yml"])["_commit"] == "v2.0.0"


def test_update_keeps_local_edits(tmp_path, git_cmd, copier_cli) -> None:
    repo = make_repo(tmp_path, git_cmd, old_versions(tmp_path)["synthetic"])
    project = copy_as_user(repo, tmp_path / "customer-360", "v1.0.0", git_cmd, **ANSWERS)
    requirements = project / "requirements.txt"
    requirements.write_text(requirements.read_text() + "pendulum==3.1.0\n")
    new_dag = project / "dags" / "customer_360_orders.py"
    new_dag.write_text('"""A DAG of our own."""\n')
    git_cmd(project, "add", "-A")
    git_cmd(project, "commit", "-q", "-m", "our own work")

    update(project, copier_cli)

    assert conflicts(project) == []
    assert requirements.read_text().endswith("pendulum==3.1.0\n")
    assert new_dag.read_text() == '"""A DAG of our own."""\n'
    assert (project / "include" / "README.md").exists()  # added by v2
    assert not (project / "plugins" / "OBSOLETE.md").exists()  # removed by v2
    assert "## Daily use" in (project / "README.md").read_text()


@pytest.mark.parametrize("kerberos_before", [True, False])
def test_changing_kerberos_on_update(tmp_path, git_cmd, copier_cli, kerberos_before) -> None:
    repo = make_repo(tmp_path, git_cmd, old_versions(tmp_path)["synthetic"])
    project = copy_as_user(
        repo, tmp_path / "customer-360", "v2.0.0", git_cmd, kerberos=kerberos_before, **ANSWERS
    )
    override = project / "docker-compose.override.yml"
    assert override.exists() == kerberos_before

    update(project, copier_cli, "--data", f"kerberos={str(not kerberos_before).lower()}")

    assert conflicts(project) == []
    assert override.exists() == (not kerberos_before)
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["kerberos"] is (not kerberos_before)
    fresh = copy_as_user(
        repo, tmp_path / "fresh", "v2.0.0", git_cmd, kerberos=not kerberos_before, **ANSWERS
    )
    assert tree(project) == tree(fresh)


# ------------------------------------------------------------ package_name ---
# A new package_name through Copier would delete dags/<old>/ with the user's edits
# (copier update removes what only the old rendering had, and exits 0). The template
# refuses it before any file is touched; docs/how-to/rename-datakit-package.md says how
# to rename, and test_documented_package_rename runs that page.

RENAME_DOC = REPO_ROOT / "docs" / "how-to" / "rename-datakit-package.md"
REFUSAL = (
    'package_name "customer_360" cannot become "crm" here (see '
    "docs/how-to/rename-datakit-package.md in the platform repository): copier update "
    "would delete dags/customer_360/ and every file named after it, your edits with them, "
    "and copier recopy would leave them beside the new ones. Nothing was changed. Keep "
    "package_name=customer_360, or rename the package first as that page says"
)
OWN_MODULE = '"""Orders of customer_360."""\n\nfrom customer_360 import warehouse\n'
OWN_DAG = 'DAG_ID = "customer_360_orders"\nCONN_ID = "customer_360_warehouse"\n'
TWEAK = "\n# our own tweak of the template's module\n"


def with_own_work(project: Path, git_cmd) -> Path:
    """A datakit's edits: a module and a DAG file of its own, a template file changed."""
    package = project / "dags" / "customer_360"
    (package / "orders.py").write_text(OWN_MODULE)
    (project / "dags" / "customer_360_orders.py").write_text(OWN_DAG)
    init = package / "__init__.py"
    init.write_text(init.read_text() + TWEAK)
    git_cmd(project, "add", "-A")
    git_cmd(project, "commit", "-q", "-m", "our own work")
    return project


def state(project: Path, git_cmd) -> tuple[dict[str, str], str, str]:
    """Every file, HEAD and `git status`: what a refused command must leave as it was."""
    return (
        tree(project),
        git_cmd(project, "rev-parse", "HEAD").strip(),
        git_cmd(project, "status", "--porcelain", "--ignored"),
    )


def assert_refused(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode != 0, f"rename accepted:\n{result.stdout}\n{result.stderr}"
    assert REFUSAL in result.stderr, result.stderr


@pytest.mark.parametrize(("start", "target"), [("v1.0.0", "v2.0.0"), ("v2.0.0", "v2.0.0")])
def test_update_refuses_to_rename_the_package(
    tmp_path, old_template, git_cmd, copier_cli, start, target
) -> None:
    """`copier update --data package_name=crm`, to a newer or the same template version
    (the refusal is the target version's: a datakit of any older version is protected)."""
    repo = make_repo(tmp_path, git_cmd, old_template)
    project = copy_as_user(repo, tmp_path / "customer-360", start, git_cmd, **ANSWERS)
    with_own_work(project, git_cmd)
    before = state(project, git_cmd)

    result = copier_cli(
        "update", "--defaults", "--vcs-ref", target, "--data", "package_name=crm", cwd=project
    )

    assert_refused(result)
    assert state(project, git_cmd) == before


def test_recopy_refuses_to_rename_the_package(tmp_path, git_cmd, copier_cli) -> None:
    repo = make_repo(tmp_path, git_cmd, old_versions(tmp_path)["synthetic"])
    project = copy_as_user(repo, tmp_path / "customer-360", "v2.0.0", git_cmd, **ANSWERS)
    with_own_work(project, git_cmd)
    before = state(project, git_cmd)

    result = copier_cli(
        "recopy", "--defaults", "--overwrite", "--data", "package_name=crm", cwd=project
    )

    assert_refused(result)
    assert state(project, git_cmd) == before


def run_in_terminal(
    args: list[str],
    cwd: Path,
    talk: Callable[[Callable[[str], str], Callable[[bytes], None]], None],
) -> tuple[int, str]:
    """Run a command in a pseudo-terminal, as a user types: `talk(wait_for, send)`."""
    leader, follower = pty.openpty()
    # A wide terminal, so Copier's one-line validation message is shown whole.
    subprocess.run(["stty", "cols", "400", "rows", "50"], stdin=follower, check=True)
    env = {**os.environ, **GIT_ENV, "NO_COLOR": "1", "TERM": "xterm"}
    process = subprocess.Popen(
        args, cwd=cwd, env=env, stdin=follower, stdout=follower, stderr=follower
    )
    os.close(follower)
    seen = bytearray()

    def read(seconds: float) -> None:
        ready, _, _ = select.select([leader], [], [], seconds)
        if ready:
            try:
                seen.extend(os.read(leader, 65536))
            except OSError:  # the command has exited and closed the terminal
                time.sleep(seconds)

    def text() -> str:
        return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", seen.decode(errors="replace"))

    def wait_for(expected: str) -> str:
        deadline = time.monotonic() + 120
        while expected not in text():
            assert time.monotonic() < deadline, f"no {expected!r} in:\n{text()}"
            read(0.2)
        return text()

    try:
        talk(wait_for, lambda keys: os.write(leader, keys) and None)
        returncode = process.wait(timeout=120)
        read(0.2)
        return returncode, text()
    finally:
        if process.poll() is None:
            process.kill()
        os.close(leader)


def test_interactive_update_refuses_a_new_package_name(tmp_path, git_cmd) -> None:
    """Answering `crm` at the package_name prompt of `copier update`: refused there."""
    repo = make_repo(tmp_path, git_cmd, old_versions(tmp_path)["synthetic"])
    project = copy_as_user(repo, tmp_path / "customer-360", "v1.0.0", git_cmd, **ANSWERS)
    with_own_work(project, git_cmd)
    before = state(project, git_cmd)
    seen: list[str] = []

    def talk(wait_for: Callable[[str], str], send: Callable[[bytes], None]) -> None:
        wait_for("Datakit name")
        send(b"\r")  # keep customer-360
        wait_for("Python package name")
        send(b"\x15crm\r")  # Ctrl-U clears the recorded customer_360; then crm, Enter
        seen.append(wait_for("cannot become"))
        send(b"\x03")  # Ctrl-C: the user gives up

    returncode, _ = run_in_terminal(
        [project_tool("copier"), "update", "--vcs-ref", "v2.0.0"], project, talk
    )

    assert 'package_name "customer_360" cannot become "crm" here' in seen[0]
    assert "docs/how-to/rename-datakit-package.md" in seen[0]
    assert returncode != 0
    assert state(project, git_cmd) == before


def test_copy_and_update_read_no_missing_answers_file(tmp_path, git_cmd, copier_cli) -> None:
    """The rename check reads the answers file only where there is one: no warning."""
    repo = make_repo(tmp_path, git_cmd, old_versions(tmp_path)["synthetic"])
    project = tmp_path / "customer-360"
    copied = copier_cli(
        "copy", "--defaults", "--vcs-ref", "v1.0.0",
        "--data", "datakit_name=customer-360", "--data", "owner=team-360",
        str(repo), str(project),
    )  # fmt: skip
    assert copied.returncode == 0, copied.stderr
    git_cmd(project, "init", "-q")
    git_cmd(project, "add", "-A")
    git_cmd(project, "commit", "-q", "-m", "datakit from template v1.0.0")
    updated = update(project, copier_cli, "--data", "owner=team-crm")
    for result in (copied, updated):
        assert "Warning" not in result.stderr, result.stderr
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert (answers["package_name"], answers["owner"]) == ("customer_360", "team-crm")


def documented_rename_script() -> str:
    blocks = re.findall(r"^```bash\n(.*?)^```", RENAME_DOC.read_text(), re.M | re.S)
    assert len(blocks) == 1, "the how-to has exactly one bash block: the procedure"
    return blocks[0]


def test_documented_package_rename(tmp_path, git_cmd, copier_cli) -> None:
    """docs/how-to/rename-datakit-package.md, as written, on a datakit with its own work:
    the result is a fresh copy of the newer template with package_name=crm, plus that work."""
    repo = make_repo(tmp_path, git_cmd, old_versions(tmp_path)["synthetic"])
    project = copy_as_user(repo, tmp_path / "customer-360", "v1.0.0", git_cmd, **ANSWERS)
    with_own_work(project, git_cmd)
    shutil.copy2(project / ".env.example", project / ".env")  # ignored by git, renamed too

    copier_dir = str(Path(project_tool("copier")).parent)
    env = {**os.environ, **GIT_ENV, "PATH": f"{copier_dir}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", documented_rename_script()],
        cwd=project, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip

    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    assert conflicts(project) == []
    fresh = copy_as_user(
        repo, tmp_path / "fresh" / "customer-360", "v2.0.0", git_cmd,
        **ANSWERS, package_name="crm",
    )  # fmt: skip
    expected = tree(fresh)
    expected["dags/crm/orders.py"] = OWN_MODULE.replace("customer_360", "crm")
    expected["dags/crm_orders.py"] = OWN_DAG.replace("customer_360", "crm")
    expected["dags/crm/__init__.py"] += TWEAK
    expected[".env"] = expected[".env.example"]
    assert "CRM_SQLITE_PATH" in expected[".env"]
    renamed = tree(project)
    assert sorted(renamed) == sorted(expected)
    assert [rel for rel in expected if renamed[rel] != expected[rel]] == []
    log = git_cmd(project, "log", "--format=%s", "-1")
    assert log.strip() == "Rename package customer_360 to crm"
