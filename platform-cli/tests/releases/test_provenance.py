"""What a manifest records about where a release came from, and the S3 store's missing extra."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from adp.releases.publish import default_publisher, git_sha
from adp.releases.s3_store import S3Store
from adp.releases.store import StoreError


def test_git_sha_is_head_of_the_folders_repository_and_none_outside_one(tmp_path: Path) -> None:
    repo = tmp_path / "kit"
    (repo / "dags").mkdir(parents=True)
    (repo / "dags" / "a.py").write_text("x = 1\n")
    env = ["-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "add", "."], check=True)
    subprocess.run(["git", "-C", str(repo), *env, "commit", "-qm", "one"], check=True)
    head = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert git_sha(repo / "dags") == head
    outside = tmp_path / "loose"
    outside.mkdir()
    assert git_sha(outside) is None


def test_the_default_publisher_is_user_at_host() -> None:
    user, _, host = default_publisher().partition("@")
    assert user and host


def test_without_boto3_the_s3_store_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)  # what an install without the extra sees
    with pytest.raises(StoreError, match=r"pip install 'platform-cli\[s3\]'"):
        S3Store("releases")
