"""A credential given at build time (NETRC_FILE as `--secret id=netrc`, INDEX_PASSWORD_FILE as
`--secret id=index_password`) reaches no layer, no history entry, no image configuration and
no build log; against a real password-protected index it is what makes the build succeed."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from adp.images import builder, discovery
from adp.images.config import ImageConfig, source_tree
from adp_test_servers import ServerUnavailable
from adp_test_servers.image_scan import scan_image_with_cli
from adp_test_servers.package_index import running_package_index

RUNTIME_ROOT = source_tree().runtime_root

pytestmark = pytest.mark.docker


def without_index(config: ImageConfig) -> ImageConfig:
    """`config` building from pypi.org with no credentials (whatever this machine sets)."""
    return replace(
        config,
        package_index_url="",
        package_index_username="",
        netrc_file="",
        index_password_file="",
    )


def test_build_secret_is_in_no_layer(
    docker_cli: str, base_image: str, test_config: ImageConfig, tmp_path: Path
) -> None:
    token = "adp-probe-" + os.urandom(12).hex()
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine index.adp-probe.invalid login probe password {token}\n")
    (runtime,) = discovery.select(discovery.discover(RUNTIME_ROOT), ["python-runner"])
    # NETRC_FILE, as a user sets it: the config hands it to the build as the secret id=netrc.
    config = replace(without_index(test_config), version="secret-probe", netrc_file=str(netrc))
    assert config.secrets() == [f"id=netrc,src={netrc}"]
    # --no-cache: the RUN steps that mount the secret really run with it in this build.
    options = builder.BuildOptions(no_cache=True, log_dir=tmp_path / "logs")
    result = builder.build_one(docker_cli, runtime, config, options)
    assert result.ok, result.error
    try:
        log = Path(result.log).read_text()
        assert "--mount=type=secret,id=netrc" in log  # the secret-mounting step ran
        assert token not in log

        # Positive control: the scan does find what the image does contain.
        hits = scan_image_with_cli(
            docker_cli, result.tag, [token.encode(), b"requests", b"secret-probe"]
        )
        assert hits[b"requests"], "scan found nothing at all: the scanner is broken"
        assert hits[b"secret-probe"], "the image config was not scanned"
        assert hits[token.encode()] == [], f"secret found in: {hits[token.encode()]}"

        history = subprocess.run(
            [docker_cli, "history", "--no-trunc", result.tag],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        inspect = subprocess.run(
            [docker_cli, "image", "inspect", result.tag], capture_output=True, text=True, check=True
        ).stdout
        assert token not in history and token not in inspect
        assert "netrc" not in inspect
    finally:
        subprocess.run([docker_cli, "rmi", "-f", result.tag], capture_output=True, check=False)


@pytest.fixture
def private_index(tmp_path: Path, test_config: ImageConfig) -> Iterator[tuple[str, str]]:
    """A password-protected package index (pypiserver) on 127.0.0.1 holding exactly what
    python-runner's build downloads: its locked wheels and the pinned uv (facts.env)."""
    (runtime,) = discovery.select(discovery.discover(RUNTIME_ROOT), ["python-runner"])
    packages = tmp_path / "packages"
    env = {**os.environ, "PIP_CERT": os.environ.get("CA_BUNDLE", "")}
    if not env["PIP_CERT"]:
        env.pop("PIP_CERT")
    for spec in (["-r", str(runtime.lock)], [f"uv=={test_config.uv_version}"]):
        fetch = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
             "--only-binary", ":all:", "--dest", str(packages), *spec],
            env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert fetch.returncode == 0, fetch.stderr
    token = "adp-index-" + os.urandom(12).hex()
    with contextlib.ExitStack() as stack:
        try:
            url = stack.enter_context(
                running_package_index(
                    tmp_path / "index", sorted(packages.iterdir()), "builder", token
                )
            )
        except ServerUnavailable as exc:
            pytest.skip(str(exc))
        yield url, token


def build_from(docker_cli: str, config: ImageConfig, logs: Path) -> tuple[builder.BuildResult, str]:
    """python-runner built with `config` (--no-cache, host network: the index listens on the
    host's loopback); the result and its log."""
    (runtime,) = discovery.select(discovery.discover(RUNTIME_ROOT), ["python-runner"])
    options = builder.BuildOptions(no_cache=True, log_dir=logs, extra_args=["--network", "host"])
    result = builder.build_one(docker_cli, runtime, config, options)
    return result, Path(result.log).read_text()


def assert_no_trace(docker_cli: str, tag: str, token: str, log: str) -> None:
    hits = scan_image_with_cli(docker_cli, tag, [token.encode(), b"requests"])
    assert hits[b"requests"], "scan found nothing at all: the scanner is broken"
    assert hits[token.encode()] == [], f"index password found in: {hits[token.encode()]}"
    for command in (["history", "--no-trunc"], ["image", "inspect"]):
        out = subprocess.run(
            [docker_cli, *command, tag], capture_output=True, text=True, check=True
        ).stdout
        assert token not in out
    assert token not in log


def test_index_credentials_are_used_and_leave_no_trace(
    docker_cli: str, base_image: str, test_config: ImageConfig, private_index, tmp_path: Path
) -> None:
    """Build python-runner from a private index that demands a password: the netrc secret
    is what makes the build succeed, and the password is then in no layer."""
    url, token = private_index
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine 127.0.0.1 login builder password {token}\n")
    config = replace(without_index(test_config), version="private-index", package_index_url=url)

    # Control: without the secret the index refuses, and the build fails.
    refused, refused_log = build_from(docker_cli, config, tmp_path / "refused")
    assert not refused.ok, "the index did not ask for credentials: the test proves nothing"
    assert "401" in refused_log, refused.error

    result, log = build_from(
        docker_cli, replace(config, netrc_file=str(netrc)), tmp_path / "with-secret"
    )
    assert result.ok, result.error
    try:
        assert_no_trace(docker_cli, result.tag, token, log)
    finally:
        subprocess.run([docker_cli, "rmi", "-f", result.tag], capture_output=True, check=False)


def test_index_password_file_is_used_and_leaves_no_trace(
    docker_cli: str, base_image: str, test_config: ImageConfig, private_index, tmp_path: Path
) -> None:
    """The same index with Layer 1's other way: PACKAGE_INDEX_USERNAME plus the password in
    the file INDEX_PASSWORD_FILE names, put into the index URL of each downloading RUN step by
    scripts/adp-index-env. It makes the build succeed and leaves no trace."""
    url, token = private_index
    password = tmp_path / "index-password"
    password.write_text(token + "\n")
    config = replace(
        without_index(test_config),
        version="index-password",
        package_index_url=url,
        package_index_username="builder",
        index_password_file=str(password),
    )
    assert config.secrets() == [f"id=index_password,src={password}"]
    result, log = build_from(docker_cli, config, tmp_path / "with-password")
    assert result.ok, result.error
    try:
        # Both downloading steps took the credentials from the secret (Layer 1's script says so).
        assert log.count("with credentials from the index_password secret") == 2, log[-3000:]
        assert_no_trace(docker_cli, result.tag, token, log)
    finally:
        subprocess.run([docker_cli, "rmi", "-f", result.tag], capture_output=True, check=False)
