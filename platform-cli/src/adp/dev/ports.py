"""Is a port on the loopback interface free for the stack to publish?"""

from __future__ import annotations

import socket

from adp.dev.errors import DevError


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """True when nothing listens on host:port (a bind succeeds)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def require_free(port: int, what: str, setting: str, option: str) -> None:
    """Raise DevError naming the setting to change when `port` is taken."""
    if not port_is_free(port):
        raise DevError(
            f"port {port} on 127.0.0.1 ({what}) is already taken by another program; stop "
            f"it, or choose a free port: {setting}=<port> or `adp dev start {option} <port>`"
        )
