"""What the sharer reports: a state file rewritten every poll, status text, health.

The state file lives in the sharer's private state directory (a tmpfs in the
container) and holds only names and times, never ticket bytes. Health is judged
from two facts: the sharer loop is alive (fresh heartbeat) and the shared copy
itself holds a valid TGT (parsed from the volume, not taken on the loop's word).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kerberos_ticket_sharer import cache_names, shared_copy, ticket_cache
from kerberos_ticket_sharer.config import Config


def write_state(path: Path, state: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(json.dumps(state, sort_keys=True))
    os.replace(temp, path)


def read_state(path: Path) -> dict[str, Any] | None:
    try:
        return dict(json.loads(path.read_text()))
    except (FileNotFoundError, ValueError):
        return None


def default_realm(krb5_conf: str | None = None) -> str | None:
    """`default_realm` from krb5.conf, to word hints before any ticket was seen."""
    import re

    path = krb5_conf or os.environ.get("KRB5_CONFIG", "/etc/krb5.conf").split(":")[0]
    try:
        text = Path(path).read_text()
    except OSError:
        return None
    match = re.search(r"^\s*default_realm\s*=\s*(\S+)", text, re.MULTILINE)
    return match.group(1) if match else None


def kinit_hint(principal: str | None, source: str | None) -> str:
    """The command the user should run on the host, in one line."""
    who = principal or f"<your-user>@{default_realm() or '<REALM>'}"
    text = f"run on the host: kinit {who}"
    if source and not cache_names.is_file_based(source):
        text += " && adp kerberos export"
    return text


def ago(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


@dataclass(frozen=True)
class Report:
    healthy: bool
    summary: str
    lines: list[str]
    data: dict[str, Any]


def report(config: Config, now: float | None = None) -> Report:
    """Status of the running sharer as seen from its state file and the shared copy."""
    now = time.time() if now is None else now
    state = read_state(config.state_file)
    shared = shared_copy.read(config.target)
    verdict = ticket_cache.judge(shared, now)
    alive = state is not None and now - float(state.get("heartbeat", 0)) <= config.heartbeat_max_age
    healthy = alive and verdict.shareable
    source = (state or {}).get("source") or config.source
    principal = verdict.principal or (state or {}).get("principal")
    last_share = (state or {}).get("last_share")
    origin = (state or {}).get("last_share_origin", "")
    if not last_share and shared is not None:
        # Shared before the sharer (re)started and unchanged since: the file's age tells.
        last_share, origin = config.target.stat().st_mtime, "before the sharer restarted"
    problem = (state or {}).get("problem")

    if not alive:
        summary = (
            "sharer is not running (no state file)"
            if state is None
            else f"sharer loop has not reported for {ago(now - float(state['heartbeat']))}"
        )
    elif verdict.shareable:
        summary = f"sharing a valid ticket for {principal}"
    elif shared is None:
        summary = f"no ticket shared: {problem or 'waiting for a valid ticket'}"
    else:
        summary = f"shared ticket unusable: {verdict.reason}"
    hint = None
    if not healthy:
        hint = (
            "check SHARER_KEYTAB, SHARER_KEYTAB_PRINCIPAL and the KDC"
            if (state or {}).get("mode") == "keytab"
            else kinit_hint(principal, source)
        )

    lines = [f"kerberos-ticket-sharer: {'healthy' if healthy else 'UNHEALTHY'}: {summary}"]
    lines.append(f"  source:      {source or '-'}")
    lines.append(f"  shared copy: {config.target}" + _file_facts(config.target))
    lines.append(f"  principal:   {principal or '-'}")
    if verdict.expires:
        delta = verdict.expires - now
        when = f"in {ago(delta)}" if delta > 0 else f"{ago(-delta)} ago"
        lines.append(f"  expires:     {ticket_cache.utc(verdict.expires)} ({when})")
        if verdict.renewable and verdict.renew_till:
            lines.append(f"  renewable:   until {ticket_cache.utc(verdict.renew_till)}")
    if last_share:
        lines.append(f"  last share:  {ago(now - float(last_share))} ago ({origin})")
    else:
        lines.append("  last share:  never")
    if problem:
        lines.append(f"  problem:     {problem}")
    if hint:
        lines.append(f"  to fix:      {hint}")
    data = {
        "healthy": healthy,
        "summary": summary,
        "alive": alive,
        "source": source,
        "target": str(config.target),
        "principal": principal,
        "expires": verdict.expires,
        "renew_till": verdict.renew_till if verdict.renewable else None,
        "shared_ticket": verdict.code,
        "last_share": last_share,
        "seconds_since_last_share": None if not last_share else round(now - float(last_share), 1),
        "last_share_origin": origin or None,
        "problem": problem,
        "hint": hint,
    }
    return Report(healthy, summary, lines, data)


def _file_facts(path: Path) -> str:
    try:
        st = path.stat()
    except FileNotFoundError:
        return " (absent)"
    return f" (uid {st.st_uid}, gid {st.st_gid}, mode {st.st_mode & 0o7777:04o})"
