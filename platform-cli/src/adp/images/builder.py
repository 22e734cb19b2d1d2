"""Build and push runtime images with a BuildKit-capable docker client.

Every type builds from the one shared Dockerfile (runtime-environments/Dockerfile), with the
type's optional runtime.dockerfile inserted at its marked line, in its own `docker build`, in a
thread pool bounded by the machine's cores. One type failing never stops or hides the others:
every type gets a BuildResult.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from adp.docker_cli import NoBuildKitClient, buildkit_client
from adp.errors import Failure
from adp.images.config import ImageConfig, ImagesConfigError, source_tree
from adp.images.discovery import RuntimeType

LOG_TAIL_LINES = 15
# Staged beside the Dockerfile of every build context (from scripts/).
INDEX_ENV_SCRIPT = "adp-index-env"
# The line of the shared runtime stage that a type's runtime.dockerfile replaces.
FRAGMENT_MARKER = "# --- <type>/runtime.dockerfile, if the type has one, is inserted here ---"


class DockerError(Failure, RuntimeError):
    """No usable docker client or base image; the message says what to do."""


@dataclass
class BuildResult:
    name: str
    tag: str
    ok: bool
    seconds: float
    size_bytes: int | None = None
    log: str = ""
    error: str = ""

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class BuildOptions:
    no_cache: bool = False
    # More BuildKit secrets, each "id=<id>,src=<file>", after the config's own (ImageConfig.secrets:
    # NETRC_FILE as id=netrc, INDEX_PASSWORD_FILE as id=index_password).
    secrets: list[str] = field(default_factory=list)
    # Default: runtime-environments/.build of the source tree.
    log_dir: Path | None = None
    extra_args: list[str] = field(default_factory=list)


def docker_client() -> str:
    """Path of a docker client that builds with BuildKit (adp.docker_cli: the one rule)."""
    try:
        return buildkit_client()
    except NoBuildKitClient as exc:
        raise DockerError(str(exc)) from None


def docker_env() -> dict[str, str]:
    return {**os.environ, "DOCKER_BUILDKIT": "1"}


def image_size(docker: str, tag: str) -> int | None:
    proc = subprocess.run(
        [docker, "image", "inspect", "--format", "{{.Size}}", tag],
        capture_output=True,
        text=True,
        check=False,
    )
    return int(proc.stdout.strip()) if proc.returncode == 0 else None


def require_base_image(docker: str, config: ImageConfig) -> None:
    if image_size(docker, config.image_python) is None:
        raise DockerError(
            f"IMAGE_PYTHON={config.image_python} is not in the local Docker cache; build it "
            "with scripts/build-debian-base (offline: make -C runtime-environments base-image) "
            "or pull it from your mirror"
        )


def dockerfile_for(runtime: RuntimeType, shared: Path | None = None) -> str:
    """The Dockerfile `runtime` builds from: the shared one (default: the source tree's
    runtime-environments/Dockerfile), with the type's runtime.dockerfile (if any) in place of
    the marker line. Without one, the shared file unchanged."""
    shared = source_tree().dockerfile if shared is None else shared
    text = shared.read_text()
    lines = text.splitlines(keepends=True)
    at = [i for i, line in enumerate(lines) if line.rstrip("\n") == FRAGMENT_MARKER]
    if len(at) != 1:
        raise DockerError(
            f"{shared}: expected the marker line {FRAGMENT_MARKER!r} exactly once in the "
            f"runtime stage, found it {len(at)} times; restore it from git"
        )
    if not runtime.fragment.is_file():
        return text
    fragment = runtime.fragment.read_text()
    if fragment and not fragment.endswith("\n"):
        fragment += "\n"
    return "".join([*lines[: at[0]], fragment, *lines[at[0] + 1 :]])


def prepare_context(runtime: RuntimeType, where: Path) -> RuntimeType:
    """Copy the type's folder to `where`, stage the corporate CA into that copy, write the
    type's Dockerfile (dockerfile_for) into it as `Dockerfile`, and add Layer 1's
    `adp-index-env` (the one implementation of index credentials in a RUN step's URL).

    Builds never write into the source tree, so concurrent builds of one type (make images
    while the tests run) cannot remove each other's staged certificates.
    """
    context = where / runtime.name
    shutil.copytree(
        runtime.path, context, ignore=shutil.ignore_patterns("ca-certificates", "Dockerfile")
    )
    copy = RuntimeType(name=runtime.name, path=context)
    (context / "Dockerfile").write_text(dockerfile_for(runtime))
    shutil.copy2(source_tree().index_env_script, context / INDEX_ENV_SCRIPT)
    stage_ca_certificates(copy)
    return copy


def stage_ca_certificates(runtime: RuntimeType) -> None:
    """Put the corporate CA into a build context (the foundation's one mechanism)."""
    proc = subprocess.run(
        [
            str(source_tree().scripts / "stage-ca-certificates"),
            str(runtime.path / "ca-certificates"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise DockerError(proc.stderr.strip() or "stage-ca-certificates failed")


def build_command(
    docker: str, context: RuntimeType, config: ImageConfig, options: BuildOptions
) -> list[str]:
    """The `docker build` of a context made by prepare_context (its Dockerfile written).

    Every build argument the shared Dockerfile declares is passed (it has no defaults to
    drift from facts.env); secrets only as `--secret`, never as an argument."""
    if not config.uv_version:
        raise ImagesConfigError(
            "UV_VERSION is empty: make the ImageConfig with load_config (facts.env)"
        )
    build_args = {
        "IMAGE_PYTHON": config.image_python,
        "UV_VERSION": config.uv_version,
        "RUNTIME_TYPE": context.name,
        "PLATFORM_VERSION": config.version,
        "PACKAGE_INDEX_URL": config.package_index_url,
        "PACKAGE_INDEX_USERNAME": config.package_index_username,
    }
    cmd = [
        docker,
        "build",
        "--progress=plain",
        "--file",
        str(context.path / "Dockerfile"),
        "--tag",
        config.tag_for(context.name),
    ]
    for name, value in build_args.items():
        cmd += ["--build-arg", f"{name}={value}"]
    if options.no_cache:
        cmd.append("--no-cache")
    for secret in [*config.secrets(), *options.secrets]:
        cmd += ["--secret", secret]
    return [*cmd, *options.extra_args, str(context.path)]


def _tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The log's last lines, without BuildKit's digest and cache bookkeeping."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    kept = [
        line
        for line in text.splitlines()
        if line.strip() and not re.match(r"^#\d+ (sha256:|CACHED|DONE|extracting )", line)
    ]
    return "\n".join(kept[-lines:])


TLS_FAILURES = ("CERTIFICATE_VERIFY_FAILED", "invalid peer certificate", "UnknownIssuer")
TLS_HINT = (
    "hint: downloads inside the build do not trust this network's TLS certificates. Commit the "
    "company CA as layer1-base-image/config/ca-certificates/<name>.crt, or set "
    "CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt when the host already trusts it."
)


def _diagnose(log: Path) -> str:
    """The log's last lines, plus a hint when the failure is a known one."""
    tail = _tail(log)
    try:
        text = log.read_text(errors="replace")
    except OSError:
        text = ""
    if any(marker in text for marker in TLS_FAILURES):
        tail += "\n" + TLS_HINT
    return tail


def build_one(
    docker: str, runtime: RuntimeType, config: ImageConfig, options: BuildOptions
) -> BuildResult:
    tag = config.tag_for(runtime.name)
    log_dir = source_tree().runtime_root / ".build" if options.log_dir is None else options.log_dir
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"{runtime.name}.log"
    start = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix=f"adp-{runtime.name}-") as tmp:
            context = prepare_context(runtime, Path(tmp))
            with log.open("w") as out:
                proc = subprocess.run(
                    build_command(docker, context, config, options),
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    env=docker_env(),
                    check=False,
                )
    except (OSError, DockerError, ImagesConfigError) as exc:
        seconds = time.monotonic() - start
        return BuildResult(runtime.name, tag, False, seconds, None, str(log), str(exc))
    seconds = time.monotonic() - start
    if proc.returncode != 0:
        return BuildResult(runtime.name, tag, False, seconds, None, str(log), _diagnose(log))
    return BuildResult(runtime.name, tag, True, seconds, image_size(docker, tag), str(log))


def default_jobs() -> int:
    return max(1, os.cpu_count() or 1)


def build_all(
    runtimes: Sequence[RuntimeType],
    config: ImageConfig,
    options: BuildOptions | None = None,
    jobs: int | None = None,
    docker: str | None = None,
    on_start: Callable[[RuntimeType], None] | None = None,
    on_done: Callable[[BuildResult], None] | None = None,
) -> list[BuildResult]:
    """Build every runtime, at most `jobs` at a time (default: the number of cores).

    Results come back in the order of `runtimes`, whatever order the builds finish in.
    """
    options = options or BuildOptions()
    if not config.uv_version:
        raise ImagesConfigError(
            "UV_VERSION is empty: make the ImageConfig with load_config (facts.env)"
        )
    docker = docker or docker_client()
    require_base_image(docker, config)
    jobs = max(1, min(jobs or default_jobs(), len(runtimes) or 1))

    def run(runtime: RuntimeType) -> BuildResult:
        if on_start:
            on_start(runtime)
        result = build_one(docker, runtime, config, options)
        if on_done:
            on_done(result)
        return result

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(run, runtimes))


def push_all(
    runtimes: Sequence[RuntimeType], config: ImageConfig, docker: str | None = None
) -> list[BuildResult]:
    """Push each type's tag; a missing local image or a failed push is that type's failure."""
    if not config.registry:
        raise DockerError(
            "IMAGE_REGISTRY is empty (runtime-environments/images.env): set it there or run "
            "make -C runtime-environments images-push IMAGE_REGISTRY=registry.example.com/team"
        )
    docker = docker or docker_client()
    results = []
    for runtime in runtimes:
        tag = config.tag_for(runtime.name)
        start = time.monotonic()
        if image_size(docker, tag) is None:
            results.append(
                BuildResult(runtime.name, tag, False, 0.0, None, "", "not built: run make images")
            )
            continue
        proc = subprocess.run([docker, "push", tag], capture_output=True, text=True, check=False)
        results.append(
            BuildResult(
                runtime.name,
                tag,
                proc.returncode == 0,
                time.monotonic() - start,
                image_size(docker, tag),
                "",
                "" if proc.returncode == 0 else (proc.stderr or proc.stdout).strip()[-800:],
            )
        )
    return results
