"""Kerberos credential cache names (the KRB5CCNAME grammar), parsed once for the platform.

Three callers share this module: the sharer (which file to read), platform-bootstrap's
`bin/host-kerberos-env` (which cache `make platform-start` shares and which folder it mounts:
`python3 -m kerberos_ticket_sharer host-env`), and `adp kerberos` (whether the sharer can
read a cache, and where `adp kerberos export` writes a copy of one it cannot). Stdlib only.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

# Cache types that live in a daemon or the kernel, not in a file the sharer can read.
NOT_FILES = ("KCM:", "KEYRING:", "API:", "MEMORY:", "MSLSA:")


class UnsupportedCache(ValueError):
    """The name is not a FILE: or DIR: cache; the message says what to do instead."""


@dataclass(frozen=True)
class CacheName:
    """A file-based cache: `FILE:/p` (or a bare path), `DIR:/d` (a collection), `DIR::/d/tktX`
    (one cache of a collection)."""

    kind: str  # "FILE", "DIR" or "DIR::"
    path: Path  # the file, or for DIR the collection's folder

    @property
    def name(self) -> str:
        return f"{self.kind}{'' if self.kind == 'DIR::' else ':'}{self.path}"

    @property
    def directory(self) -> Path:
        """The folder to bind-mount so the cache is visible at the same path."""
        return self.path if self.kind == "DIR" else self.path.parent


def is_file_based(name: str) -> bool:
    """False for KCM:, KEYRING: and the other caches that are not files."""
    return not name.upper().startswith(NOT_FILES)


def parse(name: str) -> CacheName:
    """Parse a cache name the sharer can read; raise UnsupportedCache for any other."""
    if not is_file_based(name):
        kind = name.split(":", 1)[0].upper()
        raise UnsupportedCache(
            f"credential cache {name} is a {kind} cache, which cannot be read as a file; on "
            "the host run `adp kerberos export` and share the FILE cache it writes "
            "(see docs/kerberos.md)"
        )
    if name.startswith("FILE:"):
        kind, rest = "FILE", name[5:]
    elif name.startswith("DIR::"):
        kind, rest = "DIR::", name[5:]
    elif name.startswith("DIR:"):
        kind, rest = "DIR", name[4:]
    elif ":" in name.split("/")[0]:
        raise UnsupportedCache(
            f"credential cache {name} has an unknown type; use FILE:, DIR: or an absolute path"
        )
    else:
        kind, rest = "FILE", name
    if not rest.startswith("/"):
        raise UnsupportedCache(
            f"credential cache {name}: the path must be absolute (e.g. FILE:/tmp/krb5cc_1000)"
        )
    return CacheName(kind, Path(rest))


def export_path(env: Mapping[str, str] | None = None) -> Path:
    """Where `adp kerberos export` writes a KCM:/KEYRING: cache as a FILE cache, and where
    platform-bootstrap looks for it: $ADP_KERBEROS_EXPORT, else
    ${XDG_CACHE_HOME:-~/.cache}/adp/kerberos/krb5cc."""
    env = os.environ if env is None else env
    if env.get("ADP_KERBEROS_EXPORT"):
        return Path(env["ADP_KERBEROS_EXPORT"])
    base = env.get("XDG_CACHE_HOME") or str(Path(env.get("HOME") or Path.home()) / ".cache")
    return Path(base) / "adp" / "kerberos" / "krb5cc"


def default_ccache_name(krb5_conf: Path, uid: int) -> str | None:
    """`default_ccache_name` of a krb5.conf, with the %{uid}-style tokens MIT expands."""
    try:
        text = krb5_conf.read_text()
    except OSError:
        return None
    match = re.search(r"^\s*default_ccache_name\s*=\s*(\S+)", text, re.MULTILINE)
    if not match:
        return None
    name = match.group(1)
    for token, value in (("uid", uid), ("euid", uid), ("USERID", uid), ("TEMP", "/tmp")):
        name = name.replace(f"%{{{token}}}", str(value))
    return name


def host_cache_name(env: Mapping[str, str], krb5_conf: Path, uid: int) -> str:
    """The cache the host's Kerberos uses, in libkrb5's order: $HOST_KRB5CCNAME (the
    platform's override), $KRB5CCNAME, krb5.conf's default_ccache_name, FILE:/tmp/krb5cc_<uid>."""
    return (
        env.get("HOST_KRB5CCNAME")
        or env.get("KRB5CCNAME")
        or default_ccache_name(krb5_conf, uid)
        or f"FILE:/tmp/krb5cc_{uid}"
    )
