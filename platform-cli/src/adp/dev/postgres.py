"""The PostgreSQL image of the stack's metadata database.

IMAGE_POSTGRES (your registry's mirror) wins, pulled when missing. Unset: a local
`postgres:<major>` or `adp-postgres:<major>-<inputs>`, else a pull of `postgres:<major>`, else,
when no registry answers, `adp-postgres:<major>-<inputs>` built here from Debian's packages on
the platform's debootstrap base (IMAGE_PYTHON), trusting the corporate CA (CA_BUNDLE).
`<inputs>` is a digest of the image's Dockerfile and entrypoint: an image built from older
files is never taken for the current one.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Callable
from importlib.resources import as_file, files
from pathlib import Path
from typing import Any

import docker
import docker.errors

from adp import facts
from adp.dev.errors import DevError

PG_MAJOR = facts.load().POSTGRES_MAJOR
OFFICIAL_IMAGE = f"postgres:{PG_MAJOR}"
#: The files the offline image is built from (adp/dev/postgres/).
BUILD_FILES = ("Dockerfile", "docker-entrypoint.sh")


def _inputs_digest() -> str:
    digest = hashlib.sha256()
    for name in BUILD_FILES:
        digest.update((files("adp.dev") / "postgres" / name).read_bytes())
    return digest.hexdigest()[:12]


OFFLINE_IMAGE = f"adp-postgres:{PG_MAJOR}-{_inputs_digest()}"
SYSTEM_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
PULL_TIMEOUT = 60


def _present(client: docker.DockerClient, image: str) -> bool:
    try:
        client.images.get(image)
    except docker.errors.ImageNotFound:
        return False
    return True


def _pull(image: str) -> bool:
    puller = docker.from_env(timeout=PULL_TIMEOUT)
    try:
        puller.images.pull(image)
    except (docker.errors.APIError, docker.errors.DockerException, OSError):
        return False
    finally:
        puller.close()
    return True


def build_offline(client: docker.DockerClient, base_image: str, ca_bundle: Path | None) -> str:
    """Build OFFLINE_IMAGE FROM `base_image`; the CA bundle goes into the build context."""
    if not _present(client, base_image):
        raise DevError(
            f"no PostgreSQL image: IMAGE_POSTGRES is unset, no registry answers, and the "
            f"offline base {base_image} (IMAGE_PYTHON) is not here either. Set IMAGE_POSTGRES "
            "to your registry's postgres image, or build the base with `make base` in the "
            "platform repository"
        )
    bundle = ca_bundle or (SYSTEM_CA_BUNDLE if SYSTEM_CA_BUNDLE.is_file() else None)
    if bundle is not None and not bundle.is_file():
        raise DevError(f"CA_BUNDLE={bundle} is not a readable file; fix the path or unset it")
    with (
        tempfile.TemporaryDirectory(prefix="adp-postgres-") as tmp,
        as_file(files("adp.dev") / "postgres") as source,
    ):
        context = Path(tmp)
        for name in BUILD_FILES:
            shutil.copy2(Path(source) / name, context / name)
        (context / "docker-entrypoint.sh").chmod(0o755)
        target = context / "ca-certificates.crt"
        if bundle is not None:
            shutil.copyfile(bundle, target)
        else:
            target.write_text("")
        try:
            client.images.build(
                path=str(context),
                tag=OFFLINE_IMAGE,
                buildargs={"BASE_IMAGE": base_image, "PG_MAJOR": PG_MAJOR},
                rm=True,
                forcerm=True,
            )
        except docker.errors.BuildError as exc:
            tail = "".join(str(c.get("stream", c.get("error", ""))) for c in exc.build_log)
            raise DevError(
                f"building {OFFLINE_IMAGE} from {base_image} failed:\n{tail[-2000:]}"
            ) from None
    return OFFLINE_IMAGE


def resolve_postgres_image(
    client: docker.DockerClient,
    configured: str | None,
    base_image: str,
    ca_bundle: Path | None,
    say: Callable[[str], Any] = print,
) -> str:
    """The image to run the metadata database from (see the module's docstring)."""
    if configured:
        if _present(client, configured) or _pull(configured):
            return configured
        raise DevError(
            f"IMAGE_POSTGRES={configured} is not here and cannot be pulled; point it at a "
            "PostgreSQL image your registry serves (docker login first), or unset it to "
            "build one offline"
        )
    for image in (OFFICIAL_IMAGE, OFFLINE_IMAGE):
        if _present(client, image):
            return image
    if _pull(OFFICIAL_IMAGE):
        return OFFICIAL_IMAGE
    say(f"no registry answers for {OFFICIAL_IMAGE}: building {OFFLINE_IMAGE} from {base_image}")
    return build_offline(client, base_image, ca_bundle)
