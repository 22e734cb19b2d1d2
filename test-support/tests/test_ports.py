"""free_port: a loopback port that TCP and UDP can both bind right away."""

from __future__ import annotations

import socket

from adp_test_servers.ports import free_port


def test_the_port_is_free_for_tcp_and_udp_on_loopback() -> None:
    port = free_port()
    assert 1024 <= port <= 65535
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
        tcp.bind(("127.0.0.1", port))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", port))
