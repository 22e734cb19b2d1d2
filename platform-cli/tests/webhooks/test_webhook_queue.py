"""The answer comes at once and the work runs on the queue: one sync per repository at a time,
bursts coalesced, repositories in parallel, a failing sync counted without stopping the worker,
a dead worker reported by /healthz, and the polling fallback at its interval."""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path

from adp_test_helpers.webhook_support import (
    Receiver,
    Recorder,
    bitbucket_headers,
    bitbucket_push,
    github_headers,
    github_push,
    running_receiver,
    sha,
    targets,
)


def push(receiver: Receiver, n: int, name: str = "gh") -> None:
    if name == "gh":
        body = github_push(after=sha(n))
        answer = receiver.post(name, body, github_headers(body, delivery=f"burst-{n}"))
    else:
        body = bitbucket_push(after=sha(n))
        answer = receiver.post(name, body, bitbucket_headers(body, delivery=f"burst-{n}"))
    assert answer.status_code == 202, answer.text


def test_twenty_deliveries_during_a_slow_sync_cause_exactly_one_more(tmp_path: Path) -> None:
    started, release = threading.Event(), threading.Event()

    def slow(name: str, reason: str) -> None:
        started.set()
        assert release.wait(10)

    recorder = Recorder(behave={"gh": slow})
    with running_receiver(targets(), tmp_path, recorder) as receiver:
        t0 = time.monotonic()
        push(receiver, 0)
        assert time.monotonic() - t0 < 1  # answered before the sync ended (it has not)
        assert started.wait(5)
        answers = []
        for n in range(1, 21):
            body = github_push(after=sha(n))
            answers.append(receiver.post("gh", body, github_headers(body, delivery=f"b-{n}")))
        assert [a.status_code for a in answers] == [202] * 20
        assert [a.json()["sync"] for a in answers] == ["rerun"] + ["coalesced"] * 19
        state = receiver.repository("gh")
        assert state["running"] and state["rerun_pending"] and state["queue_depth"] == 1
        recorder.behave.clear()
        release.set()
        body = receiver.idle()
        assert [reason for _, reason in recorder.calls] == [
            f"webhook github burst-0 {sha(0)}",
            f"webhook github b-20 {sha(20)}",  # the newest event's reason
        ]
        assert body["repositories"]["gh"]["syncs_ok"] == 2
        assert body["repositories"]["gh"]["coalesced"] == 19
    assert len(recorder.calls) == 2


def test_two_repositories_sync_in_parallel(tmp_path: Path) -> None:
    both = threading.Barrier(2, timeout=5)  # passes only when both syncs run at once
    overlap = []

    def meet(name: str, reason: str) -> None:
        both.wait()
        overlap.append(name)

    recorder = Recorder(behave={"gh": meet, "bb": meet})
    with running_receiver(targets(), tmp_path, recorder) as receiver:
        push(receiver, 1, "gh")
        push(receiver, 2, "bb")
        body = receiver.idle()
        assert sorted(overlap) == ["bb", "gh"]
        assert body["repositories"]["gh"]["last_result"] == "ok"
        assert body["repositories"]["bb"]["last_result"] == "ok"


def test_one_repository_never_syncs_twice_at_once(tmp_path: Path) -> None:
    running, peak = [0], [0]
    lock = threading.Lock()

    def track(name: str, reason: str) -> None:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1

    recorder = Recorder(behave={"gh": track})
    with running_receiver(targets(), tmp_path, recorder) as receiver:
        threads = [threading.Thread(target=push, args=(receiver, n)) for n in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        receiver.idle()
    assert peak[0] == 1
    assert 1 <= len(recorder.calls) <= 12


def test_a_raising_sync_is_counted_and_the_next_one_works(tmp_path: Path) -> None:
    def fail_once(name: str, reason: str) -> None:
        recorder.behave.clear()
        raise RuntimeError("git fetch failed: exit 128")

    recorder = Recorder(behave={"gh": fail_once})
    with running_receiver(targets(), tmp_path, recorder) as receiver:
        push(receiver, 1)
        state = receiver.idle()["repositories"]["gh"]
        assert state["last_result"] == "error" and state["syncs_error"] == 1
        assert state["last_error"] == "RuntimeError: git fetch failed: exit 128"
        push(receiver, 2)
        body = receiver.idle()
        assert body["status"] == "ok" and receiver.health().status_code == 200
        state = body["repositories"]["gh"]
        assert state["last_result"] == "ok" and state["syncs_ok"] == 1
        samples = receiver.metrics()
        assert samples['adp_webhook_syncs_total{repository="gh",result="error"}'] == 1
        assert samples['adp_webhook_syncs_total{repository="gh",result="ok"}'] == 1
    assert len(recorder.calls) == 2


def test_a_dead_worker_makes_healthz_answer_503(tmp_path: Path) -> None:
    def leave(name: str, reason: str) -> None:
        raise SystemExit(3)  # not an Exception: it ends the worker thread

    recorder = Recorder(behave={"gh": leave})
    with running_receiver(targets(), tmp_path, recorder, workers=1) as receiver:
        assert receiver.health().status_code == 200
        push(receiver, 1)
        recorder.wait_for(1)
        deadline = time.monotonic() + 5
        while receiver.health().status_code != 503:
            assert time.monotonic() < deadline, receiver.health().text
            time.sleep(0.02)
        body = receiver.health().json()
        assert body["status"] == "unhealthy" and body["workers_alive"] is False
        assert receiver.metrics()["adp_webhook_workers_up"] == 0


def test_polling_enqueues_a_sync_every_interval(tmp_path: Path) -> None:
    recorder = Recorder()
    began = time.monotonic()
    with running_receiver(targets(bb=0.25), tmp_path, recorder) as receiver:
        time.sleep(1.15)
        calls, times = list(recorder.calls), list(recorder.times)
        assert receiver.repository("bb")["poll_interval"] == 0.25
    # Polls due at 0.25, 0.5, 0.75 and 1.0 s; none for the repositories without an interval.
    assert calls and all(call == ("bb", "poll") for call in calls)
    assert 3 <= len(calls) <= 4, calls
    assert times[0] - began >= 0.24  # the first one interval after the start, not at once
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) > 0.15 and sum(gaps) / len(gaps) < 0.4, gaps


def test_polls_coalesce_with_a_running_sync(tmp_path: Path) -> None:
    release = threading.Event()
    recorder = Recorder(behave={"gh": lambda name, reason: release.wait(5) and None})
    with running_receiver(targets(gh=0.05), tmp_path, recorder) as receiver:
        recorder.wait_for(1)
        time.sleep(0.4)  # about 8 polls while the first sync runs
        assert len(recorder.calls) == 1
        recorder.behave.clear()
        release.set()
        recorder.wait_for(2)
        assert receiver.repository("gh")["coalesced"] >= 5
