"""The receiver's connection limits: what uvicorn does not bound for slow clients.

uvicorn bounds the size of a request's head (h11's ``max_incomplete_event_size``) and the idle
time between requests (``timeout_keep_alive``), but not the time a client takes to send a
request (its issue #157 has asked for that since 2018), and its ``limit_concurrency`` counts
every open connection: a few hundred clients that send headers and then nothing hold every
slot, and a signed push is answered 503. ``GuardedH11Protocol`` is uvicorn's h11 protocol with
three additions, configured by ``ConnectionLimits``:

- a read deadline: a request (head and body) must arrive whole within ``read_timeout`` seconds
  of the connection's start or of the previous answer on it, else it is answered 408 and
  closed; sending a byte at a time does not extend it;
- a share per client: one client (an IPv4 address, an IPv6 /64) holds at most
  ``max_connections_per_client`` connections;
- room for newcomers: at most ``max_connections`` connections are open.

Invariant: a connection whose request has arrived whole (it is being verified and answered) is
never closed to make room. When a connection arrives and its client holds its share, that
client's connection that has been reading a request longest is closed (408); when
``max_connections`` are open, that of the client with the most connections still reading is.
So slow clients, from one address or many, cannot keep a prompt delivery from being read and
answered; a connection is refused (503) only while every open one is answering a request.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from collections import Counter
from dataclasses import dataclass
from typing import ClassVar

from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger(__name__)

# The most a request's line and headers may take (h11's default, stated): past it, 400.
MAX_REQUEST_HEAD = 16 * 1024
CLOSE_REASONS = ("read_timeout", "client_share", "server_full", "refused_busy")
WARN_EVERY = 60.0  # seconds between two warnings about closed connections


@dataclass(frozen=True)
class ConnectionLimits:
    """Bounds on the receiver's HTTP connections (see the module docstring)."""

    read_timeout: float = 10.0
    max_connections: int = 256
    max_connections_per_client: int = 16

    def __post_init__(self) -> None:
        if not 0 < self.read_timeout <= 3600:
            raise ValueError(
                f"read_timeout must be more than 0 and at most 3600 seconds, not "
                f"{self.read_timeout!r}"
            )
        if self.max_connections < 1:
            raise ValueError(f"max_connections must be at least 1, not {self.max_connections!r}")
        if not 1 <= self.max_connections_per_client <= self.max_connections:
            raise ValueError(
                f"max_connections_per_client must be between 1 and max_connections "
                f"({self.max_connections}), not {self.max_connections_per_client!r}"
            )


def client_key(host: str) -> str:
    """The unit a share is counted by: the address, or for IPv6 its /64 (one subscriber's)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class ConnectionGuard:
    """One server's open connections by client, and of them those still reading a request
    (oldest first). Used on the event loop's thread only."""

    def __init__(self, limits: ConnectionLimits) -> None:
        self.limits = limits
        self._open: Counter[str] = Counter()
        self._reading: dict[str, dict[GuardedH11Protocol, None]] = {}
        self._members: set[GuardedH11Protocol] = set()
        self.closed: Counter[str] = Counter({reason: 0 for reason in CLOSE_REASONS})
        self._next_warning = 0.0

    def admit(self, conn: GuardedH11Protocol) -> bool:
        """Make room for ``conn`` (closing a slow connection if needed) and count it; False
        when there is no room: every connection that would have to go is answering."""
        if self._open[conn.client_key] >= self.limits.max_connections_per_client:
            victim, reason = self._longest_reading(conn.client_key), "client_share"
        elif len(self._members) >= self.limits.max_connections:
            busiest = max(self._reading, key=lambda key: len(self._reading[key]), default=None)
            victim, reason = self._longest_reading(busiest), "server_full"
        else:
            victim, reason = None, ""
        if reason and victim is None:
            self.note_closed("refused_busy", conn.client_key)
            return False
        if victim is not None:
            self.note_closed(reason, victim.client_key)
            victim.close_slow(f"closed to make room ({reason.replace('_', ' ')})")
        self._members.add(conn)
        self._open[conn.client_key] += 1
        return True

    def reading(self, conn: GuardedH11Protocol) -> None:
        if conn in self._members:
            self._reading.setdefault(conn.client_key, {})[conn] = None

    def answering(self, conn: GuardedH11Protocol) -> None:
        waiting = self._reading.get(conn.client_key)
        if waiting is not None:
            waiting.pop(conn, None)
            if not waiting:
                del self._reading[conn.client_key]

    def forget(self, conn: GuardedH11Protocol) -> None:
        """``conn`` closed (or is closing): it no longer counts. Idempotent."""
        if conn not in self._members:
            return
        self.answering(conn)
        self._members.discard(conn)
        self._open[conn.client_key] -= 1
        if not self._open[conn.client_key]:
            del self._open[conn.client_key]

    def _longest_reading(self, key: str | None) -> GuardedH11Protocol | None:
        return next(iter(self._reading.get(key, {})), None) if key is not None else None

    def note_closed(self, reason: str, key: str) -> None:
        """Count a closed connection; warn at most once a minute (an attack closes many)."""
        self.closed[reason] += 1
        log.debug("webhooks: closed a connection from %s: %s", key, reason)
        now = time.monotonic()
        if now >= self._next_warning:
            self._next_warning = now + WARN_EVERY
            log.warning(
                "webhooks: closed a connection from %s (%s); adp_webhook_connections_closed_total "
                "counts them, and this warning repeats at most once a minute",
                key,
                reason.replace("_", " "),
            )

    def snapshot(self) -> dict[str, object]:
        reading = sum(len(waiting) for waiting in self._reading.values())
        return {
            "reading": reading,
            "answering": len(self._members) - reading,
            "closed": dict(self.closed),
        }


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol under a ``ConnectionGuard`` (``guarded_protocol`` makes the
    subclass that carries one server's guard)."""

    guard: ClassVar[ConnectionGuard]

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._deadline: asyncio.TimerHandle | None = None
        super().connection_made(transport)
        self.client_key = client_key(self.client[0]) if self.client else "-"
        if not self.guard.admit(self):
            self._answer_and_close(503, "Every connection is answering a request; try again.")
            return
        self._track()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._track()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._track()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_deadline()
        self.guard.forget(self)
        super().connection_lost(exc)

    def close_slow(self, why: str) -> None:
        """Answer 408 (unless an answer began) and close; the guard forgets it at once."""
        self._cancel_deadline()
        self.guard.forget(self)
        self._answer_and_close(408, f"The request did not arrive whole in time: {why}.")

    def _track(self) -> None:
        """Keep the deadline and the guard in step with where this connection is: reading a
        request (deadline armed once, not moved by later bytes) or answering one."""
        if self.transport.is_closing():
            return
        cycle = self.cycle
        if cycle is not None and not cycle.more_body and not cycle.response_complete:
            self._cancel_deadline()
            self.guard.answering(self)
        elif self._deadline is None:
            timeout = self.guard.limits.read_timeout
            self._deadline = self.loop.call_later(timeout, self._read_timed_out)
            self.guard.reading(self)

    def _read_timed_out(self) -> None:
        self._deadline = None
        self.guard.note_closed("read_timeout", self.client_key)
        self.close_slow(f"read_timeout is {self.guard.limits.read_timeout:g} s")

    def _cancel_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _answer_and_close(self, status: int, text: str) -> None:
        if self.transport.is_closing():
            return
        if self.cycle is None or not self.cycle.response_started:
            reason = {408: b"Request Timeout", 503: b"Service Unavailable"}[status]
            body = text.encode()
            self.transport.write(
                b"HTTP/1.1 %d %s\r\ncontent-type: text/plain; charset=utf-8\r\n"
                b"content-length: %d\r\nconnection: close\r\n\r\n%s"
                % (status, reason, len(body), body)
            )
        self.transport.close()


def guarded_protocol(limits: ConnectionLimits) -> type[GuardedH11Protocol]:
    """A protocol class for one server: its connections share one new guard."""
    return type("GuardedH11Protocol", (GuardedH11Protocol,), {"guard": ConnectionGuard(limits)})
