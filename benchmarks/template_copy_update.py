"""Datakit template: time of `copier copy` (default datakit) and of a no-op `copier update`.

Builds a throw-away git repository of the template (copier.yml + templates/,
tagged v1.0.0), then per run:
  copy    `copier copy --defaults --vcs-ref v1.0.0 <repo> <dir>` (the CLI, as a user runs it)
  update  `copier update --defaults` in that datakit, committed to git, with
          nothing to change (same template version, same answers)
and prints the median, min and max of each. It asserts nothing about them.

Usage: python benchmarks/template_copy_update.py [--runs 5] [--copier PATH]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GIT_ENV = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.invalid",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def sh(*cmd: str, cwd: Path | None = None) -> float:
    """Run a command; return its wall time in seconds; fail loudly on a non-zero exit."""
    start = time.perf_counter()
    result = subprocess.run(
        cmd, cwd=cwd, env={**os.environ, **GIT_ENV}, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"{' '.join(cmd)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return elapsed


def template_repo(root: Path) -> Path:
    repo = root / "template"
    repo.mkdir()
    shutil.copy2(REPO / "copier.yml", repo / "copier.yml")
    shutil.copytree(REPO / "templates", repo / "templates")
    sh("git", "init", "-q", "-b", "main", cwd=repo)
    sh("git", "add", "-A", cwd=repo)
    sh("git", "commit", "-q", "-m", "template", cwd=repo)
    sh("git", "tag", "v1.0.0", cwd=repo)
    return repo


def summary(name: str, times: list[float]) -> str:
    return (
        f"{name:<7} median {statistics.median(times):6.2f} s   "
        f"min {min(times):6.2f} s   max {max(times):6.2f} s   ({len(times)} runs)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--copier", default=str(Path(sys.executable).parent / "copier"))
    args = parser.parse_args()
    copier = shutil.which(args.copier)
    if copier is None:
        sys.exit(f"copier not found: {args.copier} (pip install copier, or pass --copier PATH)")
    args.copier = str(Path(copier).resolve())  # the update runs in the datakit's folder

    copies: list[float] = []
    updates: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bench-template-") as tmp:
        root = Path(tmp)
        repo = template_repo(root)
        for run in range(args.runs):
            dst = root / f"datakit-{run}"
            copies.append(
                sh(args.copier, "copy", "--quiet", "--defaults", "--vcs-ref", "v1.0.0",
                   str(repo), str(dst))
            )  # fmt: skip
            sh("git", "init", "-q", "-b", "main", cwd=dst)
            sh("git", "add", "-A", cwd=dst)
            sh("git", "commit", "-q", "-m", "datakit", cwd=dst)
            updates.append(sh(args.copier, "update", "--quiet", "--defaults", cwd=dst))
            changed = subprocess.run(
                ["git", "status", "--porcelain"], cwd=dst, capture_output=True, text=True
            ).stdout
            if changed:
                sys.exit(f"the no-op update changed files:\n{changed}")

    version = subprocess.run([args.copier, "--version"], capture_output=True, text=True).stdout
    print(f"copier: {version.strip()}; template: {REPO / 'copier.yml'}")
    print(summary("copy", copies))
    print(summary("update", updates))


if __name__ == "__main__":
    main()
