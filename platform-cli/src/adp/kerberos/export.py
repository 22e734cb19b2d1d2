"""Export any credential cache libkrb5 can read as a FILE cache the ticket sharer reads.

The sharer (platform-bootstrap) reads `FILE:` and `DIR:` caches. Many desktops keep
tickets in `KCM:` (sssd-kcm, Heimdal) or `KEYRING:` (the kernel), which are not files;
`adp kerberos export` reads such a cache through libkrb5 (the `krb5` package, extra
`platform-cli[kerberos]`) and writes a FILE cache the sharer can read, atomically.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adp import fsatomic
from adp.errors import Failure


def _cache_names() -> Any:
    """The sharer's cache-name rules (one parser for the platform; extra [kerberos])."""
    try:
        from kerberos_ticket_sharer import cache_names
    except ImportError as exc:
        raise TicketError(
            "the kerberos-ticket-sharer package is missing: install platform-cli[kerberos] "
            "from the platform repository (make dev-env does)"
        ) from exc
    return cache_names


def default_export_path() -> Path:
    """Where `export` writes, and where platform-bootstrap looks for an exported cache."""
    return _cache_names().export_path()


def is_file_based(name: str) -> bool:
    """Whether the ticket sharer can read the cache `name` as a file (FILE:, DIR:)."""
    return _cache_names().is_file_based(name)


class TicketError(Failure, RuntimeError):
    """No usable TGT; the message says what to run."""


@dataclass(frozen=True)
class CacheSummary:
    """Names and times only: nothing secret, safe to print and compare."""

    cache: str
    principal: str
    tgt_expires: int
    tgt_renew_till: int
    fingerprint: str


def _krb5() -> Any:
    try:
        import krb5
    except ImportError as exc:
        raise TicketError(
            "the `krb5` Python package is missing: pip install 'platform-cli[kerberos]' "
            "(building it needs libkrb5-dev and gcc: apt-get install libkrb5-dev gcc)"
        ) from exc
    return krb5


def _name(krb5: Any, ctx: Any, principal: Any) -> str:
    return bytes(krb5.unparse_name_flags(ctx, principal, 0)).decode()


def read_cache(source: str | None) -> tuple[Any, Any, Any, list[Any], CacheSummary]:
    """Open `source` (any cache type libkrb5 knows) and check it holds a valid TGT."""
    krb5 = _krb5()
    ctx = krb5.init_context()
    name = source or os.environ.get("KRB5CCNAME") or bytes(krb5.cc_default_name(ctx)).decode()
    try:
        cache = krb5.cc_resolve(ctx, name.encode())
        principal = krb5.cc_get_principal(ctx, cache)
        creds = list(cache)
    except krb5.Krb5Error as exc:
        raise TicketError(
            f"no credentials in {name} ({exc}); run on the host: kinit <you>@<REALM>"
        ) from exc
    who = _name(krb5, ctx, principal)
    realm = bytes(principal.realm)
    tgt_name = f"krbtgt/{realm.decode()}@{realm.decode()}"
    now = time.time()
    digest = hashlib.sha256(who.encode())
    tgt = None
    for cred in creds:
        server = _name(krb5, ctx, cred.server)
        times = cred.times
        digest.update(f"{server}|{times.authtime}|{times.endtime}|{times.renew_till}".encode())
        is_tgt = server == tgt_name and _name(krb5, ctx, cred.client) == who
        if is_tgt and (tgt is None or times.endtime > tgt.times.endtime):
            tgt = cred
    if tgt is None:
        raise TicketError(f"{name} holds no TGT for {who}; run on the host: kinit {who}")
    if tgt.times.endtime <= now:
        raise TicketError(f"the TGT for {who} in {name} has expired; run on the host: kinit {who}")
    summary = CacheSummary(
        name, who, int(tgt.times.endtime), int(tgt.times.renew_till), digest.hexdigest()[:16]
    )
    return krb5, ctx, principal, creds, summary


def export_cache(source: str | None, destination: Path) -> CacheSummary:
    """Copy every credential of `source` into the FILE cache `destination`, atomically.

    libkrb5 writes a temporary FILE cache (mode 0600) next to the destination, which is
    then renamed over it: the sharer never reads a half-written export.
    """
    krb5, ctx, principal, creds, summary = read_cache(source)
    destination.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with fsatomic.temporary(destination) as temp:
        out = krb5.cc_resolve(ctx, f"FILE:{temp}".encode())
        krb5.cc_initialize(ctx, out, principal)
        for cred in creds:
            krb5.cc_store_cred(ctx, out, cred)
        os.chmod(temp, 0o600)
        fsatomic.commit(temp, destination)
    return summary
