"""`make build` itself: secrets stay out of the image, bad settings fail fast and clearly."""

from __future__ import annotations

import contextlib
import shutil
import time

import docker
import pytest
from adp import facts
from adp_test_support import REPO, build_env, layer_hits, run

pytestmark = pytest.mark.docker

MAKE = shutil.which("make") or "make"
LAYER1_DIR = str(REPO / "layer1-base-image")

NETRC_PASSWORD = "netrc-pw-7Qx9-never-in-a-layer"
INDEX_PASSWORD = "index-pw-Zk3v-never-in-a-layer"


def make_build(**overrides: str):
    return run([MAKE, "-C", LAYER1_DIR, "build"], env=build_env(**overrides), check=False)


def test_secrets_leave_no_trace_in_layers_or_history(
    docker_client, docker_cli, layer1_image, tmp_path
):
    netrc = tmp_path / "netrc"
    netrc.write_text(
        f"machine artifactory.example.invalid login builder password {NETRC_PASSWORD}\n"
    )
    password = tmp_path / "index-password"
    password.write_text(INDEX_PASSWORD + "\n")
    tag = "adp-test-secrets"
    result = make_build(
        LAYER1_IMAGE=tag,
        RUNTIME_IMAGE=f"{tag}-runtime:latest",
        NETRC_FILE=str(netrc),
        INDEX_PASSWORD_FILE=str(password),
        # A real index that accepts basic auth, so the build really uses the credentials.
        PACKAGE_INDEX_URL="https://pypi.org/simple",
        PACKAGE_INDEX_USERNAME="builder",
        # Secrets are not in BuildKit's cache key: without this, a machine that built the
        # same steps before (a warm CI cache) replays them without mounting the secrets.
        NO_CACHE="1",
    )
    try:
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        log = result.stdout + result.stderr
        assert "with credentials from the index_password secret" in log, "the secret was not used"
        assert NETRC_PASSWORD not in log and INDEX_PASSWORD not in log, (
            "a secret reached the build log"
        )
        for image in (f"{tag}:latest", f"{tag}-runtime:latest"):
            history = run([docker_cli, "history", "--no-trunc", image]).stdout
            assert NETRC_PASSWORD not in history and INDEX_PASSWORD not in history
            assert layer_hits(docker_client, image, [NETRC_PASSWORD, INDEX_PASSWORD]) == []
    finally:
        version = facts.load().PLATFORM_VERSION
        for image in (f"{tag}:latest", f"{tag}:{version}", f"{tag}-runtime:latest"):
            with contextlib.suppress(docker.errors.ImageNotFound):
                docker_client.images.remove(image, force=True)


def test_unreachable_astronomer_image_fails_fast_naming_the_fix(docker_client):
    # A registry address on loopback that nothing listens on: refused at once.
    started = time.monotonic()
    tag = facts.load().IMAGE_ASTRONOMER.rsplit(":", 1)[1]
    mirror = f"127.0.0.1:9/astronomer/runtime:{tag}"
    result = make_build(FLAVOR="astro", IMAGE_ASTRONOMER=mirror)
    elapsed = time.monotonic() - started
    assert result.returncode != 0
    assert f"IMAGE_ASTRONOMER={mirror} cannot be pulled" in result.stderr
    assert "FLAVOR=oss" in result.stderr
    print(f"make build failed after {elapsed:.1f}s")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"FLAVOR": "enterprise"}, "FLAVOR=enterprise is not a runtime flavor"),
        (
            {"PACKAGE_INDEX_URL": "https://user:token@artifactory.example.invalid/simple"},
            "PACKAGE_INDEX_URL holds credentials",
        ),
        (
            {"NETRC_FILE": "/nonexistent/netrc"},
            "NETRC_FILE=/nonexistent/netrc is not a readable file",
        ),
        ({"CA_BUNDLE": "/etc/hostname"}, "/etc/hostname holds no PEM certificate"),
        ({"NO_CACHE": "sometimes"}, "NO_CACHE=sometimes is not a yes/no value"),
    ],
)
def test_bad_settings_are_refused_before_building(docker_client, overrides, message):
    before = {image.id for image in docker_client.images.list()}
    result = make_build(LAYER1_IMAGE="adp-test-refused", **overrides)
    assert result.returncode != 0
    assert message in result.stderr
    assert {image.id for image in docker_client.images.list()} == before, "nothing may change"


def host_network_needs_corporate_ca() -> bool:
    """True when TLS to the package index fails with only the public CA roots (certifi)."""
    import ssl
    import urllib.request

    import certifi

    context = ssl.create_default_context(cafile=certifi.where())
    try:
        urllib.request.urlopen("https://pypi.org/simple/pip/", context=context, timeout=20).close()
    except ssl.SSLError:
        return True
    except OSError as exc:  # URLError wraps the SSL error
        return isinstance(getattr(exc, "reason", None), ssl.SSLError)
    return False


def test_corporate_ca_is_what_makes_downloads_work(docker_client, layer1_image):
    # Build the runtime with no CA given at all: on a TLS-intercepted network the
    # first download must fail on the certificate, proving the CA injection is used.
    env = build_env(RUNTIME_IMAGE="adp-test-no-ca:latest")
    env.pop("CA_BUNDLE", None)
    result = run(
        [MAKE, "-C", LAYER1_DIR, "runtime"],
        env=env,
        check=False,
        cwd=str(REPO),
    )
    try:
        if host_network_needs_corporate_ca():
            assert result.returncode != 0, "a build without the corporate CA must fail here"
            assert "CERTIFICATE_VERIFY_FAILED" in result.stdout + result.stderr
        else:
            assert result.returncode == 0, result.stderr[-3000:]
    finally:
        with contextlib.suppress(docker.errors.ImageNotFound):
            docker_client.images.remove("adp-test-no-ca:latest", force=True)


def test_offline_base_image_is_not_rebuilt_when_present(docker_client, layer1_image):
    image_id = docker_client.images.get(facts.load().IMAGE_PYTHON).id
    result = run([str(REPO / "scripts" / "build-debian-base"), facts.load().IMAGE_PYTHON])
    assert "already exists" in result.stdout
    assert docker_client.images.get(facts.load().IMAGE_PYTHON).id == image_id
