"""Helpers for the cross-component tests: commands, build settings, the Docker SDK."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
from adp import facts
from adp_test_servers.image_scan import scan_saved_image
from adp_test_servers.tools import project_tool

REPO = Path(__file__).resolve().parent.parent
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
LAYER1_TAG = os.environ.get("ADP_TEST_LAYER1_IMAGE", "layer1-airflow:latest")
# What a template under test is made of (copied into a throw-away git repository).
TEMPLATE_FILES = ("copier.yml", "templates")


def buildkit_docker() -> str:
    """The docker client that builds with BuildKit (see scripts/find-buildkit-docker)."""
    return subprocess.run(
        [str(REPO / "scripts" / "find-buildkit-docker")],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def build_env(**overrides: str) -> dict[str, str]:
    """Environment for `make build`: oss flavor, offline base, host CA bundle."""
    env = dict(os.environ)
    env.update(
        FLAVOR="oss",
        IMAGE_PYTHON=facts.load().IMAGE_PYTHON,
        DOCKER_BUILDKIT="1",
    )
    if HOST_CA_BUNDLE.exists():
        env["CA_BUNDLE"] = str(HOST_CA_BUNDLE)
    env.update(overrides)
    return env


def build_datakit(docker_cli: str, folder: Path, tag: str) -> str:
    """`docker build -q -t TAG FOLDER` with BuildKit: a datakit built FROM Layer 1 by its
    ONBUILD triggers, as `astro dev start` builds it. Returns the tag."""
    result = subprocess.run(
        [docker_cli, "build", "-q", "-t", tag, str(folder)],
        env={**os.environ, "DOCKER_BUILDKIT": "1"},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, f"datakit build failed:\n{result.stdout}\n{result.stderr}"
    return tag


@contextlib.contextmanager
def built_datakit(
    docker_cli: str, client: docker.DockerClient, folder: Path, tag: str
) -> Iterator[str]:
    """build_datakit, and the image removed again when the block ends."""
    try:
        yield build_datakit(docker_cli, folder, tag)
    finally:
        with contextlib.suppress(docker.errors.ImageNotFound):
            client.images.remove(tag, force=True)


def run(
    cmd: list[str], *, check: bool = True, timeout: float = 1800, **kwargs: object
) -> subprocess.CompletedProcess[str]:
    """Run a command, keeping its output for assertions and failure messages."""
    result = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        timeout=timeout,
        **kwargs,  # type: ignore[arg-type]
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} exited {result.returncode}\n"
            f"--- stdout ---\n{result.stdout[-4000:]}\n--- stderr ---\n{result.stderr[-4000:]}"
        )
    return result


@dataclass(frozen=True)
class Ran:
    exit_code: int
    output: str


def run_in(
    client: docker.DockerClient,
    image: str,
    command: str,
    *,
    volumes: dict[str, dict[str, str]] | None = None,
    environment: dict[str, str] | None = None,
    user: str | None = None,
    network_mode: str | None = None,
    timeout: int = 600,
) -> Ran:
    """Run `bash -c command` in a throw-away container; return exit code and output."""
    container = client.containers.run(
        image,
        ["bash", "-c", command],
        detach=True,
        volumes=volumes or {},
        environment=environment or {},
        user=user,
        network_mode=network_mode,
    )
    try:
        status = container.wait(timeout=timeout)
        output = container.logs(stdout=True, stderr=True).decode(errors="replace")
        return Ran(int(status["StatusCode"]), output)
    finally:
        container.remove(force=True)


def layer_hits(client: docker.DockerClient, image: str, needles: Iterable[str]) -> list[str]:
    """Search every file of every layer, the config and the manifests of `image` (docker save)
    for each needle. Returns "place: needle" for every hit; empty when nothing holds any."""
    hits = scan_saved_image(
        client.images.get(image).save(named=True), [n.encode() for n in needles]
    )
    return [f"{place}: {needle.decode()}" for needle, places in hits.items() for place in places]


def onbuild_triggers(client: docker.DockerClient, image: str) -> list[str]:
    return list(client.api.inspect_image(image)["Config"]["OnBuild"] or [])


def labels(client: docker.DockerClient, image: str, prefix: str = "") -> dict[str, str]:
    all_labels = client.api.inspect_image(image)["Config"]["Labels"] or {}
    return {k: v for k, v in all_labels.items() if k.startswith(prefix)}


def strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


# -- the datakit template, as a throw-away git repository ----------------------------
GIT_ENV = {
    "GIT_AUTHOR_NAME": "template-tests",
    "GIT_AUTHOR_EMAIL": "template-tests@example.invalid",
    "GIT_COMMITTER_NAME": "template-tests",
    "GIT_COMMITTER_EMAIL": "template-tests@example.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV}
    result = subprocess.run(
        ["git", "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed in {cwd}:\n{result.stderr}")
    return result.stdout


def copy_template_files(dst: Path, source_root: Path = REPO) -> Path:
    """Copy copier.yml and templates/ (nothing else of the monorepo) into dst."""
    dst.mkdir(parents=True, exist_ok=True)
    for name in TEMPLATE_FILES:
        src = source_root / name
        if src.is_dir():
            shutil.copytree(src, dst / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(src, dst / name)
    return dst


def copy_example(name: str, parent: Path, layer1_image: str = LAYER1_TAG) -> Path:
    """examples/<name> copied into `parent` (its caches and any .env left behind), built
    FROM `layer1_image`. Returns the copy."""
    ignored = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", ".ruff_cache", ".env")
    copy = Path(shutil.copytree(REPO / "examples" / name, parent / name, ignore=ignored))
    dockerfile = copy / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace("layer1-airflow:latest", layer1_image))
    return copy


def commit_all(repo: Path, message: str, tag: str | None = None) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    if tag:
        git(repo, "tag", tag)


def copy_tree(dest: Path) -> None:
    """The tracked files of the repository as a fresh git repository at DEST (a fork),
    its .venv the project's own."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name, follow_symlinks=False)
    for command in (["init", "-q"], ["add", "-A"]):  # test_facts reads `git ls-files`
        subprocess.run(["git", *command], cwd=dest, check=True, capture_output=True)
    # The copy's tools are the project's own (.venv), never ones found on PATH.
    (dest / ".venv").symlink_to(Path(project_tool("uv")).parent.parent)


def version_key(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text))


def release_before(package: str, version: str) -> str:
    """The newest final release of PACKAGE on the index older than VERSION."""
    listed = subprocess.run(
        [sys.executable, "-m", "pip", "index", "versions", package],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    assert listed.returncode == 0, listed.stderr
    line = next(x for x in listed.stdout.splitlines() if x.startswith("Available versions:"))
    older = [
        v.strip()
        for v in line.split(":", 1)[1].split(",")
        if re.fullmatch(r"\d+\.\d+\.\d+", v.strip()) and version_key(v) < version_key(version)
    ]
    assert older, f"no {package} release older than {version}"
    return max(older, key=version_key)


def previous_release() -> str:
    """The newest apache-airflow release on the index older than the pinned one."""
    return release_before("apache-airflow", facts.load().AIRFLOW_VERSION)
