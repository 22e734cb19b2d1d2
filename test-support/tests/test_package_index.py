"""running_package_index: pypiserver on 127.0.0.1 serving exactly the given files, to the
given login only, gone on exit."""

from __future__ import annotations

import base64
import socket
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from adp_test_servers.package_index import running_package_index


def get(url: str, login: tuple[str, str] | None = None) -> bytes:
    request = urllib.request.Request(url)
    if login:
        token = base64.b64encode(":".join(login).encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.read()


def test_the_index_serves_its_files_to_the_login_only(tmp_path: Path) -> None:
    wheel = tmp_path / "adp_probe-1.0-py3-none-any.whl"
    wheel.write_bytes(b"not really a wheel, served as it is")
    with running_package_index(tmp_path / "index", [wheel], "builder", "s3cret") as url:
        port = int(url.split(":")[2].split("/")[0])
        assert url == f"http://127.0.0.1:{port}/simple/"
        with pytest.raises(urllib.error.HTTPError) as refused:
            get(url)
        assert refused.value.code == 401  # asks for credentials
        for login in (("builder", "wrong"), ("other", "s3cret")):
            with pytest.raises(urllib.error.HTTPError) as refused:
                get(url, login)
            assert refused.value.code in (401, 403), login
        listing = get(url + "adp-probe/", ("builder", "s3cret")).decode()
        assert wheel.name in listing
        with pytest.raises(urllib.error.HTTPError) as refused:
            get(f"http://127.0.0.1:{port}/packages/{wheel.name}")
        assert refused.value.code == 401
        assert get(f"http://127.0.0.1:{port}/packages/{wheel.name}", ("builder", "s3cret")) == (
            wheel.read_bytes()
        )
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0
