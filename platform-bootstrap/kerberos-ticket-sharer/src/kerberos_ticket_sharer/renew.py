"""Get fresher tickets with MIT's own tools: `kinit -R` (renew) and `kinit -k` (keytab).

Both work on a private FILE cache in the sharer's state directory, never on the
host's cache (mounted read-only) nor on the shared file (replaced atomically by
the caller).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

TIMEOUT = 30


class RenewError(RuntimeError):
    """kinit failed; the message carries its one-line error (never ticket contents)."""


def _work_cache(state_dir: Path, name: str) -> Path:
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    return state_dir / name


def _kinit(args: list[str], cache: Path) -> bytes:
    try:
        result = subprocess.run(
            ["kinit", *args, "-c", f"FILE:{cache}"],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except FileNotFoundError as exc:
        raise RenewError("kinit not found; install MIT Kerberos client tools (krb5-user)") from exc
    except subprocess.TimeoutExpired as exc:
        raise RenewError(f"kinit timed out after {TIMEOUT} s (is the KDC reachable?)") from exc
    try:
        if result.returncode != 0:
            message = " ".join(result.stderr.split()) or f"exit status {result.returncode}"
            raise RenewError(message)
        return cache.read_bytes()
    finally:
        cache.unlink(missing_ok=True)


def renew(data: bytes, state_dir: Path) -> bytes:
    """Renew the TGT in `data` (a FILE cache) and return the renewed cache."""
    cache = _work_cache(state_dir, "renew.ccache")
    fd = os.open(cache, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    return _kinit(["-R"], cache)


def from_keytab(keytab: Path, principal: str, state_dir: Path, lifetime: str | None) -> bytes:
    """A fresh TGT for `principal` from `keytab` (service accounts, CI)."""
    if not os.access(keytab, os.R_OK):
        raise RenewError(f"keytab {keytab} (SHARER_KEYTAB) is missing or unreadable")
    cache = _work_cache(state_dir, "keytab.ccache")
    args = ["-k", "-t", str(keytab)]
    if lifetime:
        args += ["-l", lifetime]
    return _kinit([*args, principal], cache)
