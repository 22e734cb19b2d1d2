"""A credential given at build time (`--secret id=netrc`) reaches no layer, no history entry
and no image configuration."""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
from pathlib import Path

import pytest
from runtime_images import builder, discovery
from runtime_images.config import RUNTIME_ROOT, ImageConfig

pytestmark = pytest.mark.docker


def scan_saved_image(docker_cli: str, tag: str, needles: list[bytes]) -> dict[bytes, list[str]]:
    """`docker save` the image; return, per needle, the archive members that contain it.

    Every layer tarball is opened and each file in it searched, so a needle stored in any
    layer (even one deleted by a later layer) is found.
    """
    saved = subprocess.run([docker_cli, "save", tag], capture_output=True, check=True).stdout
    hits: dict[bytes, list[str]] = {n: [] for n in needles}
    with tarfile.open(fileobj=io.BytesIO(saved)) as outer:
        for member in outer.getmembers():
            if not member.isfile():
                continue
            data = outer.extractfile(member).read()
            blobs = [(member.name, data)]
            if member.name.endswith("layer.tar") or data[257:262] == b"ustar":
                with tarfile.open(fileobj=io.BytesIO(data)) as layer:
                    for entry in layer.getmembers():
                        if entry.isfile():
                            content = layer.extractfile(entry).read()
                            blobs.append((f"{member.name}:{entry.name}", content))
                        blobs.append((f"{member.name}:{entry.name}#name", entry.name.encode()))
            for name, blob in blobs:
                for needle in needles:
                    if needle in blob:
                        hits[needle].append(name)
    return hits


def test_build_secret_is_in_no_layer(
    docker_cli: str, base_image: str, test_config: ImageConfig, tmp_path: Path
) -> None:
    token = "adp-probe-" + os.urandom(12).hex()
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine index.adp-probe.invalid login probe password {token}\n")
    (runtime,) = discovery.select(discovery.discover(RUNTIME_ROOT), ["python-runner"])
    config = ImageConfig(
        registry="",
        repo=test_config.repo,
        version="secret-probe",
        image_python=test_config.image_python,
    )
    # --no-cache: the RUN steps that mount the secret really run with it in this build.
    options = builder.BuildOptions(
        no_cache=True, secrets=[f"id=netrc,src={netrc}"], log_dir=tmp_path / "logs"
    )
    result = builder.build_one(docker_cli, runtime, config, options)
    assert result.ok, result.error
    try:
        log = Path(result.log).read_text()
        assert "--mount=type=secret,id=netrc" in log  # the secret-mounting step ran
        assert token not in log

        # Positive control: the scan does find what the image does contain.
        hits = scan_saved_image(
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
