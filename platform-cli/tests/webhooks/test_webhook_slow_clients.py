"""Slow clients cannot stop a push. Hundreds of connections that stall anywhere in a request
(silent, in the request line, in the headers, after one body byte, inside a chunked body), from
one address or many, hold no slot a signed delivery needs: it is answered 202 and synced within
its normal latency while they stay connected; each client address holds at most its share;
a request that does not arrive whole within the read deadline is answered 408 and closed, and
sending one byte at a time does not extend that deadline.

Real sockets on loopback against the receiver under uvicorn (``running_receiver``); every
127.x.y.z address is local on Linux, so a client socket bound to 127.0.0.<n> is a client of
its own address as the receiver sees it.
"""

from __future__ import annotations

import socket
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from adp.webhooks.connections import ConnectionLimits
from adp_test_helpers.webhook_support import (
    SHA_1,
    Receiver,
    github_headers,
    github_push,
    running_receiver,
    targets,
)
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

DEFAULTS = ConnectionLimits()
HEAD = (
    b"POST /hooks/gh HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    b"X-GitHub-Event: push\r\nX-GitHub-Delivery: 6a1f3c2e-0000-4000-8000-000000000001\r\n"
    b"X-Hub-Signature-256: sha256=" + b"0" * 64 + b"\r\n"
)
# Where a slow client stops: what it sends, then nothing more.
STALLS = {
    "silent": b"",
    "in the request line": b"POST /hooks/gh HTT",
    "in the headers": HEAD[:90],
    "after one body byte": HEAD + b"Content-Length: 1000\r\n\r\n{",
    "inside a chunked body": HEAD + b'Transfer-Encoding: chunked\r\n\r\n10\r\n{"ref": "re',
}


def source(n: int) -> str:
    """The n-th attacker address (127.0.1.n): never 127.0.0.1, where pushes and reads come from."""
    return f"127.0.{1 + n // 250}.{1 + n % 250}"


def connect(port: int, address: str, first_bytes: bytes) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((address, 0))
    sock.connect(("127.0.0.1", port))
    if first_bytes:
        sock.sendall(first_bytes)
    return sock


@contextmanager
def slow_clients(port: int, per_address: list[int], stall: bytes) -> Iterator[list[socket.socket]]:
    """``per_address[i]`` connections from ``source(i)``, each stalled after ``stall``."""
    socks: list[socket.socket] = []
    try:
        for i, count in enumerate(per_address):
            socks += [connect(port, source(i), stall) for _ in range(count)]
        yield socks
    finally:
        for sock in socks:
            sock.close()


def held(sock: socket.socket) -> bool:
    """Still open and unanswered: nothing to read yet (no 408, no close)."""
    try:
        sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
    except BlockingIOError:
        return True
    except OSError:
        return False
    return False


def open_connections(receiver: Receiver) -> float:
    samples = receiver.metrics()
    return sum(v for k, v in samples.items() if k.startswith("adp_webhook_connections_open{"))


def wait_until_accepted(receiver: Receiver, count: int, timeout: float = 10) -> None:
    """Until the receiver has taken ``count`` connections in (the kernel completes a connect
    before the server accepts it)."""
    deadline = time.monotonic() + timeout
    while open_connections(receiver) < count:
        assert time.monotonic() < deadline, f"{open_connections(receiver)} of {count} accepted"
        time.sleep(0.05)


def push(receiver: Receiver, address: str = "127.0.0.1") -> tuple[httpx.Response, float]:
    """A signed push from ``address`` on a connection of its own; (answer, seconds to sync)."""
    body = github_push(after=SHA_1)
    syncs = len(receiver.recorder.calls)
    transport = httpx.HTTPTransport(local_address=address)
    with httpx.Client(transport=transport, timeout=10) as client:
        started = time.monotonic()
        answer = client.post(f"{receiver.url}/hooks/gh", content=body, headers=github_headers(body))
    if answer.status_code != 202:
        return answer, float("inf")
    receiver.recorder.wait_for(syncs + 1, timeout=10)
    return answer, receiver.recorder.times[syncs] - started


def normal_latency(receiver: Receiver) -> float:
    """Push-to-sync time with nobody else connected: the yardstick (plus 1 s of slack)."""
    best = min(push(receiver)[1] for _ in range(3))
    receiver.idle()
    return best + 1.0


def test_the_issues_205_slow_clients_do_not_stop_a_push(tmp_path: Path) -> None:
    """The issue's case: 205 connections that sent headers and one body byte held the receiver
    and a valid delivery got 503. All from one address here, the push from that same address
    and from another one: both are accepted and synced in their normal time."""
    with running_receiver(targets(), tmp_path) as receiver:
        budget = normal_latency(receiver)
        stall = STALLS["after one body byte"]
        socks = [connect(receiver.port, "127.0.0.2", stall) for _ in range(205)]
        try:
            wait_until_accepted(receiver, DEFAULTS.max_connections_per_client)
            for address in ("127.0.0.2", "127.0.0.3"):
                answer, latency = push(receiver, address)
                assert answer.status_code == 202, answer.text
                assert latency < budget, f"synced after {latency:.2f} s (normal {budget:.2f} s)"
            # One address holds its share, no more; the others were answered 408 and closed.
            still = [s for s in socks if held(s)]
            assert DEFAULTS.max_connections_per_client - 2 <= len(still)
            assert len(still) <= DEFAULTS.max_connections_per_client
        finally:
            for sock in socks:
                sock.close()


@pytest.fixture(scope="module")
def receiver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Receiver]:
    with running_receiver(targets(), tmp_path_factory.mktemp("state")) as r:
        yield r


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    stall=st.sampled_from(sorted(STALLS)),
    total=st.integers(150, 400),
    addresses=st.one_of(st.just(1), st.integers(2, 15), st.integers(20, 60)),
    push_from_an_attacker=st.booleans(),
)
# Always run: more slow connections than max_connections (so the server must make room), all
# from one address, and over max_connections with the push from one of the attackers.
@example(stall="after one body byte", total=400, addresses=50, push_from_an_attacker=False)
@example(stall="silent", total=300, addresses=1, push_from_an_attacker=True)
@example(stall="inside a chunked body", total=350, addresses=25, push_from_an_attacker=True)
def test_a_push_is_synced_in_its_normal_time_whatever_slow_clients_hold(
    receiver: Receiver, stall: str, total: int, addresses: int, push_from_an_attacker: bool
) -> None:
    """A few hundred slow clients from 1 to 60 addresses, stalled anywhere in a request:
    a signed push (from a fresh address or from one of theirs) is accepted and synced within
    its normal latency, while they keep every connection their shares and the total allow."""
    per_address = [total // addresses + (i < total % addresses) for i in range(addresses)]
    limits = DEFAULTS
    budget = normal_latency(receiver)
    shares = [min(n, limits.max_connections_per_client) for n in per_address]
    expected = min(sum(shares), limits.max_connections)
    event("more than max_connections" if sum(shares) > limits.max_connections else "fewer")
    with slow_clients(receiver.port, per_address, STALLS[stall]) as socks:
        wait_until_accepted(receiver, expected)
        answer, latency = push(receiver, source(0) if push_from_an_attacker else "127.0.0.1")
        assert answer.status_code == 202, answer.text
        assert latency < budget, f"synced after {latency:.2f} s (normal {budget:.2f} s)"
        # The slow clients still hold their connections: each address its share, all of them
        # at most max_connections, and only as many were closed as room was needed.
        still = Counter(sock.getsockname()[0] for sock in socks if held(sock))
        assert all(n <= limits.max_connections_per_client for n in still.values()), still
        assert expected - 2 <= sum(still.values()) <= expected, (sum(still.values()), expected)
    receiver.idle()


@pytest.mark.parametrize("stall", sorted(STALLS))
def test_a_request_not_whole_within_the_read_timeout_is_408(tmp_path: Path, stall: str) -> None:
    limits = ConnectionLimits(read_timeout=1.0)
    with running_receiver(targets(), tmp_path, limits=limits) as receiver:
        started = time.monotonic()
        with connect(receiver.port, "127.0.0.2", STALLS[stall]) as sock:
            sock.settimeout(5)
            answer = sock.recv(65536)
        elapsed = time.monotonic() - started
        assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
        assert b"1 s" in answer  # the answer names the deadline
        assert 0.9 <= elapsed < 2.5, elapsed


def test_trickling_bytes_does_not_extend_the_read_deadline(tmp_path: Path) -> None:
    limits = ConnectionLimits(read_timeout=1.0)
    request = HEAD + b"Content-Length: 1000\r\n\r\n" + b"{" * 1000
    with running_receiver(targets(), tmp_path, limits=limits) as receiver:
        started = time.monotonic()
        with connect(receiver.port, "127.0.0.2", b"") as sock:
            for byte in request:  # one byte every 50 ms: about 60 s for the whole request
                try:
                    sock.sendall(bytes([byte]))
                except OSError:
                    break
                if not held(sock):
                    break
                time.sleep(0.05)
            sock.settimeout(5)
            answer = sock.recv(65536)
        assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
        assert time.monotonic() - started < 2.5


def test_a_keep_alive_connection_gets_the_deadline_again_for_its_next_request(
    tmp_path: Path,
) -> None:
    limits = ConnectionLimits(read_timeout=1.0)
    body = github_push()
    with running_receiver(targets(), tmp_path, limits=limits) as receiver:
        with httpx.Client(timeout=5) as client:
            url = f"{receiver.url}/hooks/gh"
            for _ in range(3):  # one connection, kept alive: each request is read in time
                answer = client.post(url, content=body, headers=github_headers(body))
                assert answer.status_code == 202, answer.text
                time.sleep(0.6)  # under timeout_keep_alive; 3 x 0.6 s is over read_timeout
        receiver.recorder.wait_for(1)


def test_a_request_head_over_16_kib_is_refused_before_the_app(tmp_path: Path) -> None:
    """The head is bounded by h11 (MAX_REQUEST_HEAD), so a client cannot feed it forever."""
    with running_receiver(targets(), tmp_path) as receiver:
        with connect(receiver.port, "127.0.0.2", HEAD) as sock:
            sock.sendall(b"X-Padding: " + b"a" * 20_000 + b"\r\n")
            sock.settimeout(5)
            answer = sock.recv(65536)
        assert answer.startswith(b"HTTP/1.1 400 "), answer[:200]
        assert (
            receiver.metrics()['adp_webhook_deliveries_total{repository="gh",outcome="malformed"}']
            == 0
        )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("read_timeout", 0),
        ("read_timeout", -1.0),
        ("max_connections", 0),
        ("max_connections_per_client", 0),
        ("max_connections_per_client", DEFAULTS.max_connections + 1),
    ],
)
def test_limits_are_checked_when_built(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=field):
        ConnectionLimits(**{field: value})
