"""`kerberos-ticket-sharer host-env [--lenient]`: the host settings docker-compose.yml needs.

Prints shell assignments for `eval` (what platform-bootstrap's Makefile does through
`bin/host-kerberos-env`):
  HOST_KRB5CCNAME      the cache to share (FILE: or DIR:), as the host names it
  HOST_KRB5_CACHE_DIR  the folder holding it (mounted read-only at the same path)
  HOST_KRB5_CONFIG     the host's krb5.conf (the sharer needs it to renew tickets)
A KCM:/KEYRING: cache is not a file: the FILE copy `adp kerberos export` writes is shared
instead, or the message says how to create it. `--lenient` never fails (stop, status, logs).
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Mapping
from pathlib import Path

from kerberos_ticket_sharer import cache_names

PLACEHOLDER = {
    "HOST_KRB5CCNAME": "FILE:/nonexistent/krb5cc",
    "HOST_KRB5_CACHE_DIR": "/nonexistent",
    "HOST_KRB5_CONFIG": "/dev/null",
}


class HostEnvError(RuntimeError):
    """The host's cache cannot be shared; the message says what to run."""


def settings(env: Mapping[str, str], uid: int, lenient: bool = False) -> dict[str, str]:
    """HOST_KRB5CCNAME, HOST_KRB5_CACHE_DIR and HOST_KRB5_CONFIG for this host."""
    conf = (env.get("HOST_KRB5_CONFIG") or env.get("KRB5_CONFIG") or "/etc/krb5.conf").split(":")[0]
    krb5_conf = Path(conf)
    if not krb5_conf.is_file():
        if not lenient:
            print(
                f"platform-bootstrap: warning: {krb5_conf} not found; the sharer can copy "
                "tickets but not renew them (set HOST_KRB5_CONFIG)",
                file=sys.stderr,
            )
        krb5_conf = Path("/dev/null")
    name = cache_names.host_cache_name(env, krb5_conf, uid)
    if not cache_names.is_file_based(name):
        export = cache_names.export_path(env)
        if not export.is_file():
            raise HostEnvError(
                f"your credential cache is {name}, which the sharer cannot read as a file. Run "
                f"on the host: kinit <you>@<REALM> && adp kerberos export   (writes {export}; "
                "add --watch to follow renewals), then make platform-start again. "
                "See docs/kerberos.md."
            )
        if not lenient:
            print(
                f"platform-bootstrap: {name} is not a file; sharing the exported copy {export} "
                "(refresh it with `adp kerberos export` after kinit)",
                file=sys.stderr,
            )
        name = f"FILE:{export}"
    try:
        cache = cache_names.parse(name)
    except cache_names.UnsupportedCache as exc:
        raise HostEnvError(f"HOST_KRB5CCNAME/KRB5CCNAME={name}: {exc}") from None
    # Docker would create a missing bind-mount source as root; create it as the user instead.
    if not lenient and not cache.directory.is_dir():
        cache.directory.mkdir(mode=0o700, parents=True)
    return {
        "HOST_KRB5CCNAME": cache.name,
        "HOST_KRB5_CACHE_DIR": str(cache.directory),
        "HOST_KRB5_CONFIG": str(krb5_conf),
    }


def main(lenient: bool) -> int:
    try:
        values = settings(os.environ, os.getuid(), lenient)
    except HostEnvError as exc:
        if not lenient:
            print(f"platform-bootstrap: {exc}", file=sys.stderr)
            return 1
        values = PLACEHOLDER
    print("export " + " ".join(f"{key}={shlex.quote(value)}" for key, value in values.items()))
    return 0
