"""The sync queue (one sync per repository at a time, bursts coalesced, repositories in
parallel on a few worker threads) and the polling fallback.

A repository is in at most one of three states besides idle: *queued* (its name is in the
queue once), *running*, or *running with a rerun pending*. An event for a queued repository only
updates the reason of the sync to come; an event for a running one marks a rerun pending; so
while a sync of X runs, any number of events for X cause exactly one more sync after it.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

Sync = Callable[[str, str], object]


@dataclass
class RepoState:
    queued: bool = False
    running: bool = False
    pending: bool = False
    reason: str = ""  # of the next sync
    last_reason: str | None = None
    last_start: float | None = None  # Unix time
    last_end: float | None = None
    last_result: str | None = None  # "ok" | "error"
    last_error: str | None = None  # exception class and message, secrets redacted
    ok: int = 0
    errors: int = 0
    coalesced: int = 0  # events that did not get a sync of their own
    duration_sum: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "queued": self.queued,
            "running": self.running,
            "rerun_pending": self.pending,
            "queue_depth": int(self.queued) + int(self.pending),
            "last_reason": self.last_reason,
            "last_sync_start": _iso(self.last_start),
            "last_sync_end": _iso(self.last_end),
            "last_result": self.last_result,
            "last_error": self.last_error,
            "syncs_ok": self.ok,
            "syncs_error": self.errors,
            "coalesced": self.coalesced,
        }


def _iso(when: float | None) -> str | None:
    if when is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(when)) + f".{int(when % 1 * 1000):03d}Z"


class SyncQueue:
    def __init__(
        self,
        names: Iterable[str],
        sync: Sync,
        workers: int,
        redact: Callable[[str], str] = lambda text: text,
    ) -> None:
        self._sync = sync
        self._redact = redact
        self._lock = threading.Lock()
        self._states = {name: RepoState() for name in names}
        self._queue: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._workers = [
            threading.Thread(target=self._work, name=f"adp-webhooks-sync-{i}", daemon=True)
            for i in range(max(1, workers))
        ]
        self._started = False
        self._stopping = threading.Event()
        self.died: list[str] = []  # workers that ended on an uncaught BaseException

    def start(self) -> None:
        for thread in self._workers:
            thread.start()
        self._started = True

    def stop(self, timeout: float = 10.0) -> None:
        """Let running syncs finish (up to ``timeout``); queued ones are dropped."""
        self._stopping.set()
        if not self._started:
            return
        for _ in self._workers:
            self._queue.put(None)
        deadline = time.monotonic() + timeout
        for thread in self._workers:
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                log.warning("webhooks: %s still running a sync at shutdown", thread.name)

    def alive(self) -> bool:
        return self._started and not self._stopping.is_set() and not self.died

    def submit(self, name: str, reason: str) -> str:
        """Ask for a sync of ``name``: "queued", "rerun" (after the running one) or "coalesced"."""
        with self._lock:
            state = self._states[name]
            state.reason = reason
            if state.queued or state.pending:
                state.coalesced += 1
                return "coalesced"
            if state.running:
                state.pending = True
                return "rerun"
            state.queued = True
        self._queue.put(name)
        return "queued"

    def snapshot(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {
                name: state.as_dict() | {"duration_sum": state.duration_sum}
                for name, state in self._states.items()
            }

    def _work(self) -> None:
        name: str | None = None
        try:
            while True:
                name = self._queue.get()
                if name is None or self._stopping.is_set():
                    return
                self._run(name)
                name = None
        except BaseException as exc:  # a sync called sys.exit() or the like: this worker ends
            log.critical(
                "webhooks: worker %s ended: %s",
                threading.current_thread().name,
                self._redact(f"{type(exc).__name__}: {exc}"),
            )
            with self._lock:
                self.died.append(threading.current_thread().name)
                if name is not None:
                    state = self._states[name]
                    state.running = False
                    state.last_result = "error"
                    state.errors += 1
                    state.last_end = time.time()

    def _run(self, name: str) -> None:
        with self._lock:
            state = self._states[name]
            state.queued = False
            state.running = True
            reason = state.reason
            state.last_reason = reason
            state.last_start = time.time()
        started = time.monotonic()
        log.info("webhooks: sync %s (%s)", name, reason)
        error = None
        try:
            self._sync(name, reason)
        except Exception as exc:
            error = self._redact(f"{type(exc).__name__}: {exc}")
            log.error("webhooks: sync %s failed: %s", name, error)
            if log.isEnabledFor(logging.DEBUG):
                log.debug("%s", self._redact("".join(traceback.format_exception(exc))))
        elapsed = time.monotonic() - started
        with self._lock:
            state.running = False
            state.last_end = time.time()
            state.duration_sum += elapsed
            if error is None:
                state.ok += 1
                state.last_result, state.last_error = "ok", None
            else:
                state.errors += 1
                state.last_result, state.last_error = "error", error
            rerun = state.pending and not self._stopping.is_set()
            state.pending = False
            if rerun:
                state.queued = True
        if rerun:
            self._queue.put(name)


class Poller:
    """Enqueues ``(name, "poll")`` every interval seconds per target, from one thread."""

    def __init__(self, intervals: dict[str, float], sync_queue: SyncQueue) -> None:
        self._intervals = intervals
        self._queue = sync_queue
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="adp-webhooks-poll", daemon=True)
        self.died = False

    def start(self) -> None:
        if self._intervals:
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def alive(self) -> bool:
        return not self._intervals or (self._thread.is_alive() and not self.died)

    def _loop(self) -> None:
        now = time.monotonic()
        due = {name: now + interval for name, interval in self._intervals.items()}
        try:
            while True:
                name = min(due, key=due.__getitem__)
                if self._stop.wait(max(0.0, due[name] - time.monotonic())):
                    return
                self._queue.submit(name, "poll")
                # Keep the rhythm; after a long stall start again from now, no catch-up burst.
                due[name] += self._intervals[name]
                if due[name] < time.monotonic():
                    due[name] = time.monotonic() + self._intervals[name]
        except BaseException:
            self.died = True
            log.critical("webhooks: the polling thread ended", exc_info=True)
