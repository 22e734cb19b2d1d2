"""The hosts a chat may send a credential to: the operator's allow-list (``adp mcp
--allow-host``) and the one host a repository URL names.

Invariant: ``HostAllowList.allows(url)`` is true only when the URL parses strictly and its
host, as every parser reads it, equals an entry (or lies under a ``*.`` entry). Strictly:
``https://``, ``http://`` or ``ssh://`` with an authority of exactly ``host[:port]`` (``ssh``
also ``user@host[:port]``), or ``user@host:path``; the host an ASCII name of DNS labels or an
IP address written as one; no second ``@``, no backslash, no percent escape, no space or
control character, nothing in the authority that two URL parsers could read differently. A
host is compared lowercased, without its trailing dot and with its scheme's default port;
names in Unicode are refused in a URL (write the ``xn--`` form: curl's and Python's IDNA
mappings differ, so only the ASCII form is what both contact) and allow-list entries in
Unicode are turned into that ASCII form (IDNA 2008, ``idna``).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass

import idna

from adp.errors import UsageError

DEFAULT_PORTS = {"https": 443, "http": 80, "ssh": 22}
LABEL_RE = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
# user@host:path, as git reads an scp-like address (no '/' before the ':').
SCP_RE = re.compile(r"^(?P<user>[A-Za-z0-9._-]+)@(?P<host>[A-Za-z0-9.-]+):(?P<path>[^/].*)$")
SCHEME_RE = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<rest>.*)$", re.DOTALL)
AUTHORITY_RE = re.compile(
    r"^(?:(?P<user>[A-Za-z0-9._-]+)@)?(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)"
    r"(?::(?P<port>[0-9]{1,5}))?$"
)


ENTRY_FIX = (
    "give a host (git.example.com), all names under a domain (*.example.com), or either "
    "with a port (git.example.com:8443); no scheme, user or path"
)


class HostError(UsageError, ValueError):
    """A URL or an allow-list entry that is refused; the message says why and the fix."""


@dataclass(frozen=True)
class Endpoint:
    """Where a URL's credential would go: the normalised host and the port."""

    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def _ip(text: str) -> str | None:
    """``text`` as the canonical form of an IP address, or None when it is not one."""
    try:
        return ipaddress.ip_address(text).compressed
    except ValueError:
        return None


def normalise_host(text: str) -> str:
    """An ASCII host lowercased, without its trailing dot; an IP address in canonical form.
    ``HostError`` when it is neither a name of DNS labels nor an IP address written as one
    (a number such as ``2130706433`` or ``0x7f.1`` reads as an address to curl: refused)."""
    host = text.lower()
    if host.startswith("[") and host.endswith("]"):
        address = _ip(host[1:-1])
        if address is None or ":" not in address:
            raise HostError(f"{text!r} is not an IPv6 address")
        return address
    if host.endswith("."):
        host = host[:-1]
    address = _ip(host)
    if address is not None:
        return address
    labels = host.split(".")
    if len(host) > 253 or not all(LABEL_RE.fullmatch(label) for label in labels):
        raise HostError(f"{text!r} is not a host name (letters, digits, '-' and '.')")
    last = labels[-1]
    if last.isdigit() or last.startswith("0x"):
        raise HostError(f"{text!r} reads as an IP address: write the address as a.b.c.d")
    return host


def endpoint_of(url: str) -> Endpoint:
    """The host and port ``url`` sends its credential to; ``HostError`` when the URL is not
    read strictly the same way by every parser (see the module's invariant)."""
    if not url.isascii():
        raise HostError(
            "the host is not written in ASCII: write a name in Unicode in its ASCII form "
            "(xn--...), the only form every client contacts the same way"
        )
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url) or "\\" in url:
        raise HostError("holds spaces, control characters or a backslash: not a URL")
    scp = SCP_RE.fullmatch(url)
    if scp is not None and "://" not in url:
        return Endpoint(normalise_host(scp["host"]), DEFAULT_PORTS["ssh"])
    match = SCHEME_RE.fullmatch(url)
    if match is None or match["scheme"].lower() not in DEFAULT_PORTS:
        raise HostError("use https://host/path, ssh://user@host/path or user@host:path")
    scheme = match["scheme"].lower()
    authority = re.split(r"[/?#]", match["rest"], maxsplit=1)[0]
    parts = AUTHORITY_RE.fullmatch(authority)
    if parts is None or "%" in authority:
        raise HostError(
            f"{authority!r} is not host[:port] (nothing else, such as a second '@' or a "
            "percent escape, may stand before the path)"
        )
    if parts["user"] is not None and scheme != "ssh":
        raise HostError(
            "an https URL never holds a user name (it would be read as the host by some "
            "clients, and is often a token): remove everything up to the '@'"
        )
    port = int(parts["port"]) if parts["port"] is not None else DEFAULT_PORTS[scheme]
    if not 0 < port < 65536:
        raise HostError(f"port {port} is not a port (1-65535)")
    return Endpoint(normalise_host(parts["host"]), port)


@dataclass(frozen=True)
class HostPattern:
    """One allow-list entry: a host (``wildcard``: any name under it, not itself) and, when
    given, the only port allowed."""

    host: str
    wildcard: bool = False
    port: int | None = None

    @classmethod
    def parse(cls, entry: str) -> HostPattern:
        """``git.example.com``, ``*.example.com``, ``host:port``, ``10.0.0.5``, ``[::1]:8443``;
        a name in Unicode becomes its ASCII form. ``HostError`` naming the entry and the fix."""
        text = entry.strip()
        if any(c in text for c in "/@?#%\\ ") or not text:
            raise HostError(f"{entry!r}: {ENTRY_FIX}")
        port: int | None = None
        bracket = re.fullmatch(r"^(\[[^\]]*\])(?::([0-9]{1,5}))?$", text)
        if bracket:
            text, port = bracket[1], int(bracket[2]) if bracket[2] else None
        elif text.count(":") == 1:
            text, _, number = text.partition(":")
            if not number.isascii() or not number.isdigit():
                raise HostError(f"{entry!r}: the port after ':' must be a number")
            port = int(number)
        if port is not None and not 0 < port < 65536:
            raise HostError(f"{entry!r}: port {port} is not a port (1-65535)")
        wildcard = text.startswith("*.")
        if wildcard:
            text = text[2:]
        if "*" in text or not text:
            raise HostError(f"{entry!r}: {ENTRY_FIX}")
        if not text.isascii():
            try:
                text = idna.encode(text.rstrip("."), uts46=True).decode("ascii")
            except idna.IDNAError as error:
                raise HostError(f"{entry!r}: not a valid international name ({error})") from None
        try:
            host = normalise_host(text)
        except HostError as error:
            raise HostError(f"{entry!r}: {error}") from None
        if wildcard and (_ip(host) is not None or "." not in host):
            raise HostError(
                f"{entry!r}: '*.' stands before a domain of at least two labels "
                "(*.example.com), never an address or a top-level domain"
            )
        return cls(host, wildcard, port)

    def matches(self, endpoint: Endpoint) -> bool:
        if self.port is not None and self.port != endpoint.port:
            return False
        if self.wildcard:
            return endpoint.host.endswith("." + self.host)
        return endpoint.host == self.host

    def __str__(self) -> str:
        host = ("*." if self.wildcard else "") + self.host
        if ":" in self.host:
            host = f"[{self.host}]"
        return host if self.port is None else f"{host}:{self.port}"


@dataclass(frozen=True)
class HostAllowList:
    """The operator's ``--allow-host`` entries."""

    patterns: tuple[HostPattern, ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> HostAllowList:
        return cls(tuple(HostPattern.parse(e) for e in entries if e.strip()))

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def allows(self, url: str) -> bool:
        """Whether a credential may go where ``url`` points (False when it does not parse)."""
        try:
            endpoint = endpoint_of(url)
        except HostError:
            return False
        return any(p.matches(endpoint) for p in self.patterns)

    def __str__(self) -> str:
        return ", ".join(str(p) for p in self.patterns) or "none"
