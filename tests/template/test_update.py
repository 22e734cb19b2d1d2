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

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

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
