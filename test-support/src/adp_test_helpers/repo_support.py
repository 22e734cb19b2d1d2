"""An upstream git repository for the promoter's tests: a bare repository (served over file://,
HTTP or SSH by test-support) and a work tree that commits and pushes to it."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import yaml

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Dana Dev",
    "GIT_AUTHOR_EMAIL": "dana@example.com",
    "GIT_COMMITTER_NAME": "Dana Dev",
    "GIT_COMMITTER_EMAIL": "dana@example.com",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_CONFIG_NOSYSTEM": "1",
    "HOME": "/nonexistent",
}
# A credential that detect-secrets recognises (GitHub token shape); made up.
FAKE_TOKEN = "ghp_" + "Zq3" * 12


def dag_text(dag_id: str, marker: str = "v1", extra: str = "") -> str:
    return (
        textwrap.dedent(f'''\
        from datetime import datetime

        from airflow.sdk import dag, task

        MARKER = "{marker}"


        @dag(
            dag_id="{dag_id}",
            schedule=None,
            start_date=datetime(2025, 1, 1),
            catchup=False,
            tags=["git"],
            default_args={{"owner": "sales", "retries": 1}},
        )
        def {dag_id}():
            @task
            def report():
                return MARKER

            report()


        {dag_id}()
        ''')
        + extra
    )


def git(*args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    import os

    full = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")} | GIT_ENV | (env or {})
    done = subprocess.run(["git", *args], cwd=cwd, env=full, capture_output=True, text=True)
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout.strip()


class Upstream:
    """``bare``: the repository a server serves; ``work``: a clone committing to it."""

    def __init__(self, root: Path, name: str = "workflows", branch: str = "main") -> None:
        self.bare = root / f"{name}.git"
        self.work = root / f"{name}-work"
        self.branch = branch
        git("init", "--quiet", "--bare", "--initial-branch", branch, str(self.bare), cwd=root)
        git("init", "--quiet", "--initial-branch", branch, str(self.work), cwd=root)
        git("remote", "add", "origin", str(self.bare), cwd=self.work)

    @property
    def url(self) -> str:
        return self.bare.as_uri()

    def commit(self, files: dict[str, str | None], message: str, push: bool = True) -> str:
        for path, text in files.items():
            target = self.work / path
            if text is None:
                target.unlink()
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        git("add", "-A", cwd=self.work)
        git("commit", "--quiet", "-m", message, cwd=self.work)
        if push:
            self.push()
        return self.head()

    def head(self) -> str:
        return git("rev-parse", "HEAD", cwd=self.work)

    def push(self, force: bool = False) -> None:
        git(
            "push", "--quiet", *(["--force"] if force else []), "origin", self.branch, cwd=self.work
        )

    def reset(self, sha: str) -> None:
        git("reset", "--quiet", "--hard", sha, cwd=self.work)


def write_config(path: Path, store: Path, repos: list[dict], env: str = "dev") -> Path:
    data = {"release_store": {"bucket": str(store), "env": env}, "repositories": repos}
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def files_holding(root: Path, needle: str) -> list[Path]:
    """Every file under ``root`` whose bytes (or name) hold ``needle``."""
    found = []
    for path in root.rglob("*"):
        if needle in path.name or (path.is_file() and needle.encode() in path.read_bytes()):
            found.append(path)
    return found
