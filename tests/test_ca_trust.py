"""Every image the platform builds from a base image trusts the corporate CA the same way.

Dockerfiles cannot include one another, so the three that start from a base (Layer 1 on
Astro Runtime, the oss runtime and the runtime images on IMAGE_PYTHON) each carry the same
block: it stages the CA (scripts/stage-ca-certificates), runs update-ca-certificates and
points every client that ignores the system store at it. This test keeps the copies one.
"""

from __future__ import annotations

import re

import pytest
from adp_test_support import REPO

DOCKERFILES = [
    "layer1-base-image/Dockerfile",
    "layer1-base-image/runtime-oss/Dockerfile",
    "runtime-environments/Dockerfile",
]
BLOCK = re.compile(r"^# The corporate CA for every client.*?(?=^\S)(?:ENV .*?[^\\]\n)", re.M | re.S)
BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def block(path: str) -> str:
    found = BLOCK.findall((REPO / path).read_text())
    assert len(found) == 1, f"{path}: the corporate-CA ENV block must appear exactly once"
    return found[0]


def test_the_three_dockerfiles_carry_one_block() -> None:
    blocks = {path: block(path) for path in DOCKERFILES}
    assert len(set(blocks.values())) == 1, blocks


@pytest.mark.parametrize("path", DOCKERFILES)
def test_the_block_follows_the_staged_ca(path: str) -> None:
    text = (REPO / path).read_text()
    staged = text.index("update-ca-certificates")
    assert staged < text.index(block(path)), f"{path}: trust the CA before pointing at it"
    for variable in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "PIP_CERT"):
        assert f"{variable}={BUNDLE}" in block(path), (path, variable)
