"""The sharer's loop: poll the source, share a valid TGT, renew it, report every change.

One poll (`Sharer.step`) costs a `stat` of the source and, only when it changed,
a read of a few kilobytes; no inotify, so it works the same on bind mounts from
Docker Desktop's VM. Decisions about which ticket to share are pure functions of
the parsed caches (`should_share`, `renew_due`), tested without a KDC.
"""

from __future__ import annotations

import logging
import math
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kerberos_ticket_sharer import renew, shared_copy, source, status
from kerberos_ticket_sharer.config import Config
from kerberos_ticket_sharer.ticket_cache import Verdict, judge, utc

log = logging.getLogger("kerberos_ticket_sharer")

RENEW_RETRY = 60.0
STATE_EVERY = 5.0


def should_share(candidate: Verdict, current: Verdict | None) -> bool:
    """Share the host's ticket unless what is shared is the same login, renewed further.

    A new `kinit` (later authtime) or another principal always wins; the sharer's
    own renewal of the same login (same authtime, later end) is kept.
    """
    if not candidate.shareable:
        return False
    if current is None or not current.shareable:
        return True
    if candidate.principal != current.principal:
        return True
    if (candidate.authtime or 0) != (current.authtime or 0):
        return (candidate.authtime or 0) > (current.authtime or 0)
    return (candidate.expires or 0) >= (current.expires or 0)


def renew_due(current: Verdict, now: float, margin: float) -> bool:
    """Renew when less than `margin` (at most half the ticket's lifetime) remains."""
    if not current.shareable or not current.renewable or not current.expires:
        return False
    if (current.renew_till or 0) <= (current.expires or 0):
        return False
    lifetime = current.expires - (current.starttime or current.authtime or current.expires)
    threshold = min(margin, lifetime / 2) if lifetime > 0 else margin
    return current.expires - now < threshold


class Sharer:
    def __init__(self, config: Config, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.clock = clock
        self.started = clock()
        self.current: bytes | None = None
        self.source_data: bytes | None = None
        self.source_sig: source.Signature | None = None
        self.bad_since: float | None = None
        self.source_gone = False
        self.problem: str | None = None
        self.problem_code: str | None = None
        self.principal: str | None = None
        self.last_share: float | None = None
        self.last_share_origin: str | None = None
        self.shares = 0
        self.retry_at = 0.0
        self.expiry_reported: int | None = None

    # -- life cycle -------------------------------------------------------------------------

    def start(self) -> None:
        cfg = self.config
        shared_copy.prepare_directory(cfg.target_dir, cfg.dir_mode, cfg.target_name)
        self.current = shared_copy.read(cfg.target)
        existing = judge(self.current, self.clock())
        self.principal = existing.principal
        mode = f"keytab {cfg.keytab} for {cfg.keytab_principal}" if cfg.keytab else cfg.source
        log.info(
            "started: sharing %s into %s (uid %d, gid %d, mode %04o), polling every %g s; "
            "shared copy at start: %s",
            mode,
            cfg.target,
            cfg.owner_uid,
            cfg.owner_gid,
            cfg.file_mode,
            cfg.poll_interval,
            existing.reason if self.current is not None else "none",
        )

    def run(self, stop: threading.Event | None = None) -> None:
        stop = stop or threading.Event()

        def _stop(signum: int, _frame: object) -> None:
            log.info("stopping on signal %d; the shared copy stays in place", signum)
            stop.set()

        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _stop)
            signal.signal(signal.SIGINT, _stop)
        self.start()
        written: dict[str, Any] = {}
        while not stop.is_set():
            try:
                self.step()
            except shared_copy.SharedCopyError as exc:  # its message names the setting
                self._set_problem("error", exc.strerror or str(exc), logging.ERROR)
            except Exception as exc:  # keep sharing through transient faults; say what failed
                self._set_problem("error", f"{type(exc).__name__}: {exc}", logging.ERROR)
            state = self.state()
            # The heartbeat only needs to be fresher than SHARER_HEARTBEAT_MAX_AGE: write on
            # every change, else every STATE_EVERY seconds.
            beat = state["heartbeat"] - written.get("heartbeat", 0) >= STATE_EVERY
            if beat or {**state, "heartbeat": 0} != {**written, "heartbeat": 0}:
                try:
                    status.write_state(self.config.state_file, state)
                    written = state
                except OSError as exc:
                    log.error("cannot write state file %s: %s", self.config.state_file, exc)
            stop.wait(self.config.poll_interval)

    # -- one poll ---------------------------------------------------------------------------

    def step(self) -> None:
        now = self.clock()
        if self.current is not None and not self.config.target.exists():
            log.warning("shared copy %s vanished; sharing again", self.config.target)
            self.current = None
        if self.config.keytab:
            self._step_keytab(now)
        else:
            self._step_cache(now)
        self._report_shared_expiry(now)

    def _step_cache(self, now: float) -> None:
        cfg = self.config
        assert cfg.source is not None
        try:
            path = source.resolve(cfg.source)
        except source.UnsupportedCache as exc:
            self._set_problem("unsupported", str(exc), logging.ERROR)
            return
        sig = source.signature(path)
        if sig is None:
            self.source_data, self.source_sig = None, None
        elif sig != self.source_sig:
            try:
                self.source_data = source.read(path)
            except source.UnsupportedCache as exc:
                self.source_data, self.source_sig = None, None
                self._set_problem("unsupported", str(exc), logging.ERROR)
                return
            self.source_sig = sig
        verdict = judge(self.source_data, now, cfg.min_remaining)
        if verdict.code == "unreadable":
            self.source_sig = None  # probably caught mid-write: read again next poll
        if verdict.principal:
            self.principal = verdict.principal

        if verdict.shareable:
            self.bad_since = None
            self.source_gone = False
            current = judge(self.current, now) if self.current is not None else None
            if self.source_data != self.current and should_share(verdict, current):
                assert self.source_data is not None
                self._share(self.source_data, verdict, "copied from host", now)
            self._clear_problem(verdict)
        else:
            self.bad_since = self.bad_since if self.bad_since is not None else now
            if now - self.bad_since >= cfg.grace:
                self._source_problem(verdict, path, sig is None)

        current = judge(self.current, now) if self.current is not None else None
        if (
            current is not None
            and not self.source_gone
            and renew_due(current, now, cfg.renew_margin)
        ):
            self._renew(current, now)

    def _source_problem(self, verdict: Verdict, path: Path, gone: bool) -> None:
        cfg = self.config
        hint = status.kinit_hint(self.principal, cfg.source)
        if gone:
            if not self.source_gone:
                self.source_gone = True
                removed = cfg.on_source_gone == "remove" and shared_copy.remove(cfg.target)
                if removed:
                    self.current = None
                    log.warning(
                        "host credential cache %s is gone (kdestroy?): removed the shared "
                        "ticket, datakits have no Kerberos ticket now; %s",
                        cfg.source,
                        hint,
                    )
            self._set_problem(
                "missing", f"host credential cache {cfg.source} ({path}) not found; {hint}"
            )
        else:
            kept = " (the shared copy stays until it expires)" if self.current else ""
            self._set_problem(
                verdict.code, f"not sharing {cfg.source}: {verdict.reason}{kept}; {hint}"
            )

    def _step_keytab(self, now: float) -> None:
        cfg = self.config
        assert cfg.keytab is not None and cfg.keytab_principal is not None
        current = judge(self.current, now, cfg.min_remaining) if self.current else None
        due = current is None or not current.shareable
        if current is not None and current.shareable:
            lifetime = (current.expires or 0) - (current.starttime or 0)
            due = (current.expires or 0) - now < min(cfg.renew_margin, max(lifetime, 0) / 2)
        if not due or now < self.retry_at:
            return
        try:
            data = renew.from_keytab(
                cfg.keytab, cfg.keytab_principal, cfg.state_dir, cfg.keytab_lifetime
            )
        except renew.RenewError as exc:
            self.retry_at = now + min(RENEW_RETRY, 10 * cfg.poll_interval)
            self._set_problem(
                "keytab", f"kinit from keytab {cfg.keytab} failed: {exc}", logging.ERROR
            )
            return
        verdict = judge(data, now, 0)
        if verdict.shareable:
            self.principal = verdict.principal
            self._share(data, verdict, "from keytab", now)
            self._clear_problem(verdict)
        else:
            self._set_problem(
                "keytab", f"kinit from keytab gave no usable ticket: {verdict.reason}"
            )

    def _renew(self, current: Verdict, now: float) -> None:
        if now < self.retry_at or self.current is None:
            return
        try:
            data = renew.renew(self.current, self.config.state_dir)
        except renew.RenewError as exc:
            remaining = (current.expires or now) - now
            self.retry_at = now + min(RENEW_RETRY, max(remaining / 4, self.config.poll_interval))
            log.warning(
                "could not renew the shared ticket for %s (expires %s): %s; retrying",
                current.principal,
                utc(current.expires or 0),
                exc,
            )
            return
        renewed = judge(data, now, 0)
        if renewed.shareable and (renewed.expires or 0) > (current.expires or 0):
            self._share(data, renewed, "renewed", now)
        else:
            # At the end of the renewable life the KDC cannot extend the ticket further.
            self.retry_at = float(current.expires or math.inf)
            log.info(
                "ticket for %s cannot be renewed beyond %s; run kinit on the host before then",
                current.principal,
                utc(current.expires or 0),
            )

    # -- effects ----------------------------------------------------------------------------

    def _share(self, data: bytes, verdict: Verdict, origin: str, now: float) -> None:
        cfg = self.config
        shared_copy.write_atomically(
            cfg.target, data, uid=cfg.owner_uid, gid=cfg.owner_gid, mode=cfg.file_mode
        )
        self.current = data
        self.last_share = now
        self.last_share_origin = origin
        self.shares += 1
        self.expiry_reported = None
        log.info(
            "shared ticket for %s (%s): valid until %s%s",
            verdict.principal,
            origin,
            utc(verdict.expires or 0),
            f", renewable until {utc(verdict.renew_till or 0)}" if verdict.renewable else "",
        )

    def _report_shared_expiry(self, now: float) -> None:
        """No expired ticket is shared: remove the copy when it expires, and say so (the
        problem stays in status and health until a valid ticket is shared again)."""
        if self.current is None:
            return
        current = judge(self.current, now)
        if current.code != "expired":
            return
        hint = status.kinit_hint(current.principal, self.config.source)
        shared_copy.remove(self.config.target)
        self.current = None
        self.expiry_reported = current.expires
        message = (
            f"shared ticket for {current.principal} expired at {utc(current.expires or 0)}: "
            "removed it from the shared volume; datakits cannot authenticate until a new "
            f"ticket is shared; {hint}"
        )
        log.warning("%s", message)
        self.problem, self.problem_code = message, "expired"

    def _set_problem(self, code: str, message: str, level: int = logging.WARNING) -> None:
        if code != self.problem_code:
            log.log(level, "%s", message)
        self.problem, self.problem_code = message, code

    def _clear_problem(self, verdict: Verdict) -> None:
        if self.problem_code is not None:
            log.info("source is usable again: %s", verdict.reason)
        self.problem = self.problem_code = None

    def state(self) -> dict[str, Any]:
        current = judge(self.current, self.clock()) if self.current is not None else None
        return {
            "pid": os.getpid(),
            "heartbeat": self.clock(),
            "started": self.started,
            "mode": "keytab" if self.config.keytab else "cache",
            "source": str(self.config.keytab) if self.config.keytab else self.config.source,
            "target": str(self.config.target),
            "principal": (current.principal if current else None) or self.principal,
            "expires": current.expires if current else None,
            "last_share": self.last_share,
            "last_share_origin": self.last_share_origin,
            "shares": self.shares,
            "problem": self.problem,
        }
