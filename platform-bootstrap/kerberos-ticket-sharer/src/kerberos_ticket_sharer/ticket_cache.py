"""Read MIT `FILE:` credential caches (format versions 3 and 4) without any library.

Pure logic: bytes in, facts out. The sharer needs to know, before it shares a
cache, whose it is and whether it holds a TGT that is valid now; it never needs
key material, so this module skips keys and tickets without looking at them and
nothing it returns is secret.

Format: https://web.mit.edu/kerberos/krb5-latest/doc/formats/ccache_file_format.html
"""

from __future__ import annotations

import datetime as dt
import functools
import struct
from dataclasses import dataclass

# Ticket flags as MIT stores them (RFC 4120 bit 0 is the most significant bit).
FLAG_FORWARDABLE = 0x40000000
FLAG_POSTDATED = 0x02000000
FLAG_INVALID = 0x01000000
FLAG_RENEWABLE = 0x00800000
FLAG_INITIAL = 0x00400000

CONFIG_REALM = "X-CACHECONF:"


class CacheFormatError(ValueError):
    """The bytes are not a complete FILE credential cache (truncated, empty, other format)."""


@dataclass(frozen=True)
class Principal:
    realm: str
    components: tuple[str, ...]

    def __str__(self) -> str:
        return "/".join(self.components) + "@" + self.realm


@dataclass(frozen=True)
class Credential:
    client: Principal
    server: Principal
    authtime: int
    starttime: int
    endtime: int
    renew_till: int
    flags: int

    @property
    def is_config(self) -> bool:
        """Cache configuration entries (X-CACHECONF:) hold settings, not tickets."""
        return self.server.realm == CONFIG_REALM

    @property
    def renewable(self) -> bool:
        return bool(self.flags & FLAG_RENEWABLE)

    def is_tgt_of(self, principal: Principal) -> bool:
        """True for `krbtgt/REALM@REALM` issued to `principal` in its own realm."""
        realm = principal.realm
        return (
            self.client == principal
            and self.server.realm == realm
            and self.server.components == ("krbtgt", realm)
        )


@dataclass(frozen=True)
class TicketCache:
    version: int
    principal: Principal
    credentials: tuple[Credential, ...]

    def tgt(self) -> Credential | None:
        """The default principal's TGT with the latest end time, if any."""
        tgts = [c for c in self.credentials if c.is_tgt_of(self.principal)]
        return max(tgts, key=lambda c: c.endtime) if tgts else None


@dataclass(frozen=True)
class Verdict:
    """Whether a cache may be shared, and if not, why (one line, for logs and status)."""

    shareable: bool
    code: str
    """ok, missing, unreadable, no-tgt, invalid, not-yet-valid, expired or expiring."""
    reason: str
    principal: str | None = None
    authtime: int | None = None
    starttime: int | None = None
    expires: int | None = None
    renew_till: int | None = None
    renewable: bool = False


class _Reader:
    def __init__(self, data: bytes, byteorder: str) -> None:
        self.data = data
        self.pos = 0
        self.order = byteorder

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise CacheFormatError(
                f"truncated credential cache: wanted {n} bytes at offset {self.pos}, "
                f"file has {len(self.data)}"
            )
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return int(struct.unpack(self.order + "H", self.take(2))[0])

    def u32(self) -> int:
        return int(struct.unpack(self.order + "I", self.take(4))[0])

    def counted(self) -> bytes:
        return self.take(self.u32())

    def principal(self, version: int) -> Principal:
        name_type_present = version != 1
        if name_type_present:
            self.u32()
        count = self.u32()
        if version == 1:
            count -= 1  # version 1 counts the realm as a component
        if count > 64:
            raise CacheFormatError(f"implausible principal with {count} components")
        realm = self.counted().decode("utf-8", "replace")
        components = tuple(self.counted().decode("utf-8", "replace") for _ in range(count))
        return Principal(realm, components)

    def at_end(self) -> bool:
        return self.pos == len(self.data)


@functools.lru_cache(maxsize=16)
def parse(data: bytes) -> TicketCache:
    """Parse a whole FILE cache; raise CacheFormatError on anything incomplete or foreign.

    Cached: the sharer judges the same few caches every poll, and the result is immutable.
    """
    if len(data) < 2 or data[0] != 5 or data[1] not in (1, 2, 3, 4):
        raise CacheFormatError("not a FILE credential cache (expected 0x05 0x01..0x04 at offset 0)")
    version = data[1]
    reader = _Reader(data, ">" if version >= 3 else "=")
    reader.take(2)
    if version == 4:
        reader.take(reader.u16())  # header tags (KDC time offset); not needed
    principal = reader.principal(version)
    credentials: list[Credential] = []
    while not reader.at_end():
        client = reader.principal(version)
        server = reader.principal(version)
        reader.u16()  # key enctype
        if version == 3:
            reader.u16()  # version 3 repeats the enctype
        reader.counted()  # key bytes: skipped, never kept
        authtime, starttime, endtime, renew_till = (reader.u32() for _ in range(4))
        reader.u8()  # is_skey
        flags = reader.u32()
        for _ in range(reader.u32()):  # addresses
            reader.u16()
            reader.counted()
        for _ in range(reader.u32()):  # authorization data
            reader.u16()
            reader.counted()
        reader.counted()  # ticket
        reader.counted()  # second ticket
        credentials.append(
            Credential(client, server, authtime, starttime, endtime, renew_till, flags)
        )
    return TicketCache(version, principal, tuple(credentials))


def judge(data: bytes | None, now: float, min_remaining: float = 0) -> Verdict:
    """Decide whether cache bytes may be shared at time `now`.

    Shareable means: a complete cache whose default principal holds a TGT that has
    started, is not flagged invalid, and stays valid for more than `min_remaining`
    seconds.
    """
    if data is None:
        return Verdict(False, "missing", "no credential cache")
    try:
        cache = parse(data)
    except CacheFormatError as exc:
        return Verdict(False, "unreadable", f"unreadable credential cache: {exc}")
    principal = str(cache.principal)
    tgt = cache.tgt()
    if tgt is None:
        return Verdict(False, "no-tgt", f"no TGT for {principal} in the cache", principal)
    details = {
        "principal": principal,
        "authtime": tgt.authtime,
        "starttime": tgt.starttime or tgt.authtime,
        "expires": tgt.endtime,
        "renew_till": tgt.renew_till,
        "renewable": tgt.renewable and tgt.renew_till > tgt.endtime,
    }
    if tgt.flags & FLAG_INVALID:
        return Verdict(
            False, "invalid", f"TGT for {principal} is flagged invalid (postdated?)", **details
        )
    start = tgt.starttime or tgt.authtime
    if start > now + 300:  # allow default clock skew
        return Verdict(
            False,
            "not-yet-valid",
            f"TGT for {principal} is not valid before {utc(start)}",
            **details,
        )
    if tgt.endtime <= now:
        return Verdict(
            False, "expired", f"TGT for {principal} expired at {utc(tgt.endtime)}", **details
        )
    if tgt.endtime <= now + min_remaining:
        return Verdict(
            False,
            "expiring",
            f"TGT for {principal} expires in {int(tgt.endtime - now)} s, "
            f"less than the {int(min_remaining)} s minimum",
            **details,
        )
    return Verdict(True, "ok", f"valid TGT for {principal}", **details)


def utc(timestamp: float) -> str:
    """A timestamp as `YYYY-MM-DD HH:MM:SS UTC` for logs and status."""
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
