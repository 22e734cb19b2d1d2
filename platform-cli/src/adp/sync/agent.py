"""The agent's loop: a cycle every interval, backoff with jitter after a failure, health after
every cycle, and ``--exec``: a program started after the first good sync, sent the agent's
SIGTERM/SIGINT, whose exit code becomes the agent's.
"""

from __future__ import annotations

import random
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from types import FrameType

from adp.sync.cycle import CycleResult, Syncer
from adp.sync.health import health_document, read_health, write_health

FIRST_RETRY = 1.0


def backoff_delay(failures: int, interval: float, first: float = FIRST_RETRY) -> float:
    """Seconds to wait after ``failures`` failed cycles in a row (0: the interval)."""
    if failures <= 0:
        return interval
    ceiling = min(interval, first * 2 ** (failures - 1))
    return random.uniform(ceiling / 2, ceiling)


class Agent:
    def __init__(
        self, syncer: Syncer, interval: float, log: Callable[[str], None] = lambda _: None
    ) -> None:
        self.syncer = syncer
        self.interval = interval
        self.log = log
        self.failures = 0
        self.stop = threading.Event()

    def run_cycle(self) -> CycleResult:
        started = time.monotonic()
        result = self.syncer.cycle()
        path = self.syncer.dir.health
        try:
            write_health(path, health_document(result, read_health(path), self.interval))
        except OSError as error:
            self.log(f"cannot write {path}: {error}")
        self.failures = 0 if result.status == "ok" else self.failures + 1
        took = time.monotonic() - started
        what = f"snapshot {result.snapshot_id[:12]}" if result.snapshot_id else "no snapshot"
        change = ", swapped" if result.swapped else ""
        self.log(
            f"sync {result.status}: {what}{change}, {result.downloaded} object(s) downloaded "
            f"in {took:.3f} s" + (f"; {result.error}" if result.error else "")
        )
        return result

    def next_delay(self) -> float:
        return backoff_delay(self.failures, self.interval)

    def run_forever(self, after_cycle: Callable[[CycleResult], bool] | None = None) -> None:
        """Cycle until ``stop`` is set or ``after_cycle`` returns False."""
        while not self.stop.is_set():
            result = self.run_cycle()
            if after_cycle is not None and not after_cycle(result):
                return
            self.stop.wait(self.next_delay())


def exit_code(returncode: int) -> int:
    """A child killed by signal N exits the agent with 128 + N, as a shell would."""
    return 128 - returncode if returncode < 0 else returncode


def run_with_exec(agent: Agent, command: Sequence[str]) -> int:
    """Sync until the first good cycle, start ``command``, keep syncing; forward SIGTERM and
    SIGINT to it; return its exit code once it ends."""
    child: subprocess.Popen[bytes] | None = None
    stopping = threading.Event()

    def forward(signum: int, frame: FrameType | None) -> None:
        if child is not None and child.poll() is None:
            child.send_signal(signum)
        else:
            stopping.set()
            agent.stop.set()

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        while not stopping.is_set():
            result = agent.run_cycle()
            if result.good:
                break
            agent.stop.wait(agent.next_delay())
        if stopping.is_set():
            return 143
        child = subprocess.Popen(list(command))
        agent.log(f"started {command[0]} (pid {child.pid}) after the first good sync")
        deadline = time.monotonic() + agent.next_delay()
        while True:
            try:
                code = child.wait(timeout=max(0.0, min(0.2, deadline - time.monotonic())))
                return exit_code(code)
            except subprocess.TimeoutExpired:
                pass
            if time.monotonic() >= deadline:
                agent.run_cycle()
                deadline = time.monotonic() + agent.next_delay()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
