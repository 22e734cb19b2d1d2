"""Delivery ids already acted on, kept across restarts in ``<state_dir>/deliveries.sqlite``.

Only deliveries whose signature verified are recorded (the caller's rule), so nobody can burn a
future id. Entries older than ``keep_seconds`` (7 days) are dropped, and at most ``keep_last``
(10,000) are kept. One short connection per call: safe from any thread or process.
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from pathlib import Path

KEEP_SECONDS = 7 * 24 * 3600.0
KEEP_LAST = 10_000
PRUNE_EVERY = 100  # inserts between two expiry passes


class DeliveryLog:
    def __init__(
        self, path: Path, keep_seconds: float = KEEP_SECONDS, keep_last: int = KEEP_LAST
    ) -> None:
        self.path = path
        self.keep_seconds = keep_seconds
        self.keep_last = keep_last
        self._inserts = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db, db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS deliveries ("
                " repository TEXT NOT NULL, delivery TEXT NOT NULL, seen REAL NOT NULL,"
                " PRIMARY KEY (repository, delivery))"
            )
            db.execute("CREATE INDEX IF NOT EXISTS deliveries_seen ON deliveries (seen)")
        self.prune()

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10)

    def record(self, repository: str, delivery_id: str, now: float | None = None) -> bool:
        """Record the delivery; False when it was already recorded (a duplicate)."""
        now = time.time() if now is None else now
        with closing(self._connect()) as db, db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO deliveries (repository, delivery, seen) VALUES (?, ?, ?)",
                (repository, delivery_id, now),
            )
            new = cursor.rowcount == 1
        if new:
            self._inserts += 1
            if self._inserts % PRUNE_EVERY == 0:
                self.prune(now)
        return new

    def prune(self, now: float | None = None) -> None:
        now = time.time() if now is None else now
        with closing(self._connect()) as db, db:
            db.execute("DELETE FROM deliveries WHERE seen < ?", (now - self.keep_seconds,))
            db.execute(
                "DELETE FROM deliveries WHERE rowid NOT IN"
                " (SELECT rowid FROM deliveries ORDER BY seen DESC LIMIT ?)",
                (self.keep_last,),
            )

    def __len__(self) -> int:
        with closing(self._connect()) as db:
            return int(db.execute("SELECT count(*) FROM deliveries").fetchone()[0])
