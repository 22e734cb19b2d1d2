"""running_registry: Debian's docker-registry on 127.0.0.1, storing in the caller's folder,
gone on exit."""

from __future__ import annotations

import json
import socket
import urllib.request
from pathlib import Path

from adp_test_servers.registry import running_registry, tags


def test_the_registry_answers_on_loopback_and_is_stopped_on_exit(tmp_path: Path) -> None:
    with running_registry(tmp_path) as address:
        host, port = address.split(":")
        assert host == "127.0.0.1"
        with urllib.request.urlopen(f"http://{address}/v2/_catalog", timeout=5) as r:
            assert json.load(r) == {"repositories": []}
        # An upload lands in the caller's folder: nothing is kept anywhere else.
        request = urllib.request.Request(
            f"http://{address}/v2/team/probe/blobs/uploads/", method="POST"
        )
        with urllib.request.urlopen(request, timeout=5) as r:
            assert r.status == 202
        assert (tmp_path / "data" / "docker" / "registry" / "v2" / "repositories").is_dir()
        assert tags(address, "team/probe") == []
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", int(port))) != 0
