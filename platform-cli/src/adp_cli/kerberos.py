"""`adp kerberos`: host-side help for the platform's Kerberos ticket sharer.

The sharer (platform-bootstrap) reads `FILE:` and `DIR:` caches. Many desktops keep
tickets in `KCM:` (sssd-kcm, Heimdal) or `KEYRING:` (the kernel), which are not files;
`adp kerberos export` reads such a cache through libkrb5 (the `krb5` package, extra
`platform-cli[kerberos]`) and writes a FILE cache the sharer can read, atomically.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(
    name="kerberos",
    help=(
        "Kerberos tickets for datakits. The platform's ticket sharer copies your TGT into the "
        "platform_kerberos_cache volume; these commands help on the host."
    ),
    no_args_is_help=True,
)

CONFIG_REALM = b"X-CACHECONF:"


def default_export_path() -> Path:
    """Where `export` writes, and where platform-bootstrap looks for an exported cache."""
    explicit = os.environ.get("ADP_KERBEROS_EXPORT")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "adp" / "kerberos" / "krb5cc"


class TicketError(RuntimeError):
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


def _read(source: str | None) -> tuple[Any, Any, Any, list[Any], CacheSummary]:
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
    krb5, ctx, principal, creds, summary = _read(source)
    destination.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temp = destination.with_name(f".{destination.name}.{os.getpid()}.tmp")
    try:
        out = krb5.cc_resolve(ctx, f"FILE:{temp}".encode())
        krb5.cc_initialize(ctx, out, principal)
        for cred in creds:
            krb5.cc_store_cred(ctx, out, cred)
        os.chmod(temp, 0o600)
        os.replace(temp, destination)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
    return summary


def _fail(message: str, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps({"ok": False, "error": message}))
    else:
        typer.echo(f"adp kerberos: {message}", err=True)
    raise typer.Exit(1)


@app.command("export")
def export_command(
    source: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="Cache to read, e.g. KCM:1000 or KEYRING:persistent:1000. Default: "
            "KRB5CCNAME, else your libkrb5 default.",
        ),
    ] = None,
    destination: Annotated[
        Path | None,
        typer.Option(
            "--to",
            help="FILE cache to write. Default: $ADP_KERBEROS_EXPORT, else "
            "~/.cache/adp/kerberos/krb5cc (where `make platform-start` looks for it).",
        ),
    ] = None,
    watch: Annotated[
        bool,
        typer.Option(
            "--watch",
            help="Keep running: export again whenever the source changes (kinit, renewal), "
            "and delete the export when the source has no valid TGT any more (kdestroy).",
        ),
    ] = False,
    interval: Annotated[
        float, typer.Option(help="Seconds between checks with --watch.", min=0.1)
    ] = 1.0,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (one object per export).")
    ] = False,
) -> None:
    """Write a KCM:/KEYRING: (or any) credential cache as a FILE cache for the ticket sharer.

    Use it when `klist` shows `Ticket cache: KCM:...` or `KEYRING:...`: the sharer cannot
    read those. Run it after each `kinit`, or once with --watch. Exit codes: 0 exported,
    1 no valid ticket (the message says what to run), 2 usage error.
    """
    target = destination or default_export_path()
    last: str | None = None
    while True:
        try:
            summary = export_cache(source, target)
        except TicketError as exc:
            if not watch:
                _fail(str(exc), as_json)
            if last is not None:
                with contextlib.suppress(FileNotFoundError):
                    target.unlink()
                typer.echo(f"adp kerberos: {exc}; removed {target}", err=True)
            last = None
        else:
            if summary.fingerprint != last:
                report = {**asdict(summary), "exported_to": str(target), "ok": True}
                if as_json:
                    typer.echo(json.dumps(report))
                else:
                    local = time.localtime(summary.tgt_expires)
                    expires = time.strftime("%Y-%m-%d %H:%M:%S %Z", local)
                    typer.echo(
                        f"exported {summary.principal}'s tickets from {summary.cache} to "
                        f"FILE:{target} (TGT valid until {expires})"
                    )
                last = summary.fingerprint
        if not watch:
            return
        time.sleep(interval)


@app.command("status")
def status_command(
    source: Annotated[
        str | None, typer.Option("--from", help="Cache to check (default as for export).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON object.")] = False,
) -> None:
    """Show whose TGT the host holds and until when; exit 1 (with what to run) if none."""
    try:
        _, _, _, _, summary = _read(source)
    except TicketError as exc:
        _fail(str(exc), as_json)
        return
    data = asdict(summary)
    data.pop("fingerprint")
    if as_json:
        typer.echo(json.dumps({**data, "ok": True}))
        return
    left = int(summary.tgt_expires - time.time())
    typer.echo(f"cache:     {summary.cache}")
    typer.echo(f"principal: {summary.principal}")
    typer.echo(f"TGT valid: {left // 3600} h {left % 3600 // 60} min more")
    if summary.cache.upper().startswith(("KCM:", "KEYRING:")):
        typer.echo("note:      the sharer cannot read this cache type; run: adp kerberos export")
