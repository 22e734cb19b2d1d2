"""Counters of deliveries, and the Prometheus text exposition (format 0.0.4) of them and of the
sync queue's counts. Written by hand: prometheus_client is not part of Layer 1."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable
from typing import Any

OUTCOMES = (
    "accepted",
    "duplicate",
    "bad_signature",
    "ignored",
    "too_large",
    "malformed",
    "unknown",
)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class DeliveryCounts:
    def __init__(self, names: Iterable[str]) -> None:
        self._lock = threading.Lock()
        self._names = list(names)
        self._counts: Counter[tuple[str, str]] = Counter()

    def count(self, repository: str, outcome: str) -> None:
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown delivery outcome {outcome!r}")
        with self._lock:
            self._counts[repository, outcome] += 1

    def snapshot(self) -> dict[tuple[str, str], int]:
        with self._lock:
            counts = {(name, o): 0 for name in self._names for o in OUTCOMES if o != "unknown"}
            counts["", "unknown"] = 0  # an unknown name is not a label value: anyone picks it
            counts.update(self._counts)
            return counts

    def for_repository(self, name: str) -> dict[str, int]:
        return {o: n for (repo, o), n in self.snapshot().items() if repo == name}


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def exposition(
    deliveries: dict[tuple[str, str], int],
    syncs: dict[str, dict[str, Any]],
    workers_alive: bool,
    connections: dict[str, Any] | None = None,
) -> str:
    """The exposition; ``connections`` is ``ConnectionGuard.snapshot()`` when served."""
    lines = [
        "# HELP adp_webhook_deliveries_total Webhook deliveries by repository and outcome.",
        "# TYPE adp_webhook_deliveries_total counter",
    ]
    for (repo, outcome), n in sorted(deliveries.items()):
        lines.append(
            f'adp_webhook_deliveries_total{{repository="{_label(repo)}",outcome="{outcome}"}} {n}'
        )
    lines += [
        "# HELP adp_webhook_syncs_total Syncs run by repository and result (ok, error).",
        "# TYPE adp_webhook_syncs_total counter",
    ]
    for repo, s in sorted(syncs.items()):
        for result, key in (("ok", "syncs_ok"), ("error", "syncs_error")):
            lines.append(
                f'adp_webhook_syncs_total{{repository="{_label(repo)}",result="{result}"}} {s[key]}'
            )
    lines += [
        "# HELP adp_webhook_sync_duration_seconds Time spent in syncs by repository.",
        "# TYPE adp_webhook_sync_duration_seconds summary",
    ]
    for repo, s in sorted(syncs.items()):
        label = f'{{repository="{_label(repo)}"}}'
        lines.append(f"adp_webhook_sync_duration_seconds_sum{label} {s['duration_sum']:.6f}")
        lines.append(
            f"adp_webhook_sync_duration_seconds_count{label} {s['syncs_ok'] + s['syncs_error']}"
        )
    lines += [
        "# HELP adp_webhook_syncs_coalesced_total Events that joined an already queued sync.",
        "# TYPE adp_webhook_syncs_coalesced_total counter",
    ]
    for repo, s in sorted(syncs.items()):
        lines.append(
            f'adp_webhook_syncs_coalesced_total{{repository="{_label(repo)}"}} {s["coalesced"]}'
        )
    lines += [
        "# HELP adp_webhook_queue_depth Syncs waiting to run (queued or a rerun pending).",
        "# TYPE adp_webhook_queue_depth gauge",
    ]
    for repo, s in sorted(syncs.items()):
        lines.append(f'adp_webhook_queue_depth{{repository="{_label(repo)}"}} {s["queue_depth"]}')
    lines += [
        "# HELP adp_webhook_workers_up 1 while every sync worker and the poller run.",
        "# TYPE adp_webhook_workers_up gauge",
        f"adp_webhook_workers_up {int(workers_alive)}",
    ]
    if connections is not None:
        lines += [
            "# HELP adp_webhook_connections_open Open HTTP connections by state (reading a "
            "request, answering one).",
            "# TYPE adp_webhook_connections_open gauge",
            f'adp_webhook_connections_open{{state="reading"}} {connections["reading"]}',
            f'adp_webhook_connections_open{{state="answering"}} {connections["answering"]}',
            "# HELP adp_webhook_connections_closed_total Connections the receiver closed or "
            "refused, by reason.",
            "# TYPE adp_webhook_connections_closed_total counter",
        ]
        for reason, n in sorted(connections["closed"].items()):
            lines.append(f'adp_webhook_connections_closed_total{{reason="{reason}"}} {n}')
    return "\n".join(lines) + "\n"
