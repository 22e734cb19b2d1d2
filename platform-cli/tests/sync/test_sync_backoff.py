"""Backoff after failed cycles: doubling from 1 s, jittered into the upper half, capped at the
interval; the interval itself after a good cycle."""

from __future__ import annotations

from adp.sync.agent import backoff_delay, exit_code


def test_backoff_doubles_with_jitter_and_is_capped_at_the_interval() -> None:
    assert backoff_delay(0, 30) == 30
    for failures, ceiling in [(1, 1), (2, 2), (3, 4), (4, 8), (5, 16), (6, 30), (20, 30)]:
        delays = {backoff_delay(failures, 30) for _ in range(200)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 100  # jittered, not a fixed step
    assert all(backoff_delay(9, 0.2) <= 0.2 for _ in range(50))


def test_a_program_ended_by_a_signal_exits_128_plus_the_signal() -> None:
    assert exit_code(-15) == 143 and exit_code(7) == 7 and exit_code(0) == 0
