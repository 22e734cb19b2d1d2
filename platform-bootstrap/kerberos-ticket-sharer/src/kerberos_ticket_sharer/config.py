"""Settings of the sharer, all from environment variables.

Every variable is documented in platform-bootstrap/.env.example.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable and the fix."""


@dataclass(frozen=True)
class Config:
    source: str | None
    """Credential cache to share (`FILE:/path`, `DIR:/dir`, `DIR::/dir/tktX` or a path)."""
    target_dir: Path
    target_name: str
    owner_uid: int
    owner_gid: int
    file_mode: int
    dir_mode: int
    poll_interval: float
    min_remaining: float
    renew_margin: float
    grace: float
    on_source_gone: str
    keytab: Path | None
    keytab_principal: str | None
    keytab_lifetime: str | None
    state_dir: Path
    heartbeat_max_age: float
    log_level: str

    @property
    def target(self) -> Path:
        return self.target_dir / self.target_name

    @property
    def state_file(self) -> Path:
        return self.state_dir / "state.json"


def _number(env: Mapping[str, str], name: str, default: float, minimum: float = 0) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(
            f"{name}={raw!r} is not a number of seconds; e.g. {name}={default:g}"
        ) from None
    if value < minimum:
        raise ConfigError(f"{name}={raw!r} must be at least {minimum:g}")
    return value


def _integer(env: Mapping[str, str], name: str, default: int, base: int = 10) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw, base)
    except ValueError:
        example = f"{default:o}" if base == 8 else str(default)
        raise ConfigError(f"{name}={raw!r} is not an integer; e.g. {name}={example}") from None


def _file_mode(env: Mapping[str, str]) -> int:
    """SHARER_FILE_MODE: the owner reads it; nobody else does, unless SHARER_ALLOW_GROUP_READ
    lets the owner's group read it too (containers running an arbitrary uid in that group).
    A ticket readable by others is a password anyone on the machine can use: never."""
    mode = _integer(env, "SHARER_FILE_MODE", 0o400, base=8)
    raw = env.get("SHARER_FILE_MODE", "").strip()
    allow_group = env.get("SHARER_ALLOW_GROUP_READ", "").strip().lower()
    if allow_group not in ("", "0", "1", "no", "yes", "false", "true"):
        raise ConfigError(
            f"SHARER_ALLOW_GROUP_READ={allow_group!r} must be yes or no (empty means no)"
        )
    if mode & ~0o777 or not mode & 0o400:
        raise ConfigError(
            f"SHARER_FILE_MODE={raw} is not a file mode the owner can read; use 0400 (default) "
            "or 0600"
        )
    if mode & 0o007:
        raise ConfigError(
            f"SHARER_FILE_MODE={raw} lets every user read the Kerberos ticket; use 0400 "
            "(default) or 0600"
        )
    if mode & 0o070 and allow_group not in ("1", "yes", "true"):
        raise ConfigError(
            f"SHARER_FILE_MODE={raw} lets the group SHARER_OWNER_GID read the Kerberos ticket; "
            "use 0400 (default) or 0600, or, when datakit containers run an arbitrary uid in "
            "that group, say so with SHARER_ALLOW_GROUP_READ=yes"
        )
    return mode


def from_env(env: Mapping[str, str] | None = None) -> Config:
    """Read the settings; raise ConfigError naming the variable when one is wrong."""
    env = os.environ if env is None else env
    keytab = env.get("SHARER_KEYTAB", "").strip() or None
    keytab_principal = env.get("SHARER_KEYTAB_PRINCIPAL", "").strip() or None
    source = env.get("SHARER_SOURCE_CCACHE", "").strip() or env.get("KRB5CCNAME", "").strip()
    if keytab and not keytab_principal:
        raise ConfigError(
            "SHARER_KEYTAB is set but SHARER_KEYTAB_PRINCIPAL is empty; "
            "set it to the keytab's principal, e.g. svc-airflow@EXAMPLE.COM"
        )
    if not keytab and not source:
        raise ConfigError(
            "SHARER_SOURCE_CCACHE is empty; set it to the host's credential cache, "
            "e.g. FILE:/tmp/krb5cc_1000 (`make platform-start` fills it in)"
        )
    on_gone = env.get("SHARER_ON_SOURCE_GONE", "remove").strip() or "remove"
    if on_gone not in ("remove", "keep"):
        raise ConfigError(f"SHARER_ON_SOURCE_GONE={on_gone!r} must be 'remove' or 'keep'")
    target_name = env.get("SHARER_TARGET_NAME", "krb5cc").strip() or "krb5cc"
    if "/" in target_name or target_name.startswith("."):
        raise ConfigError(f"SHARER_TARGET_NAME={target_name!r} must be a plain file name")
    level = env.get("SHARER_LOG_LEVEL", "INFO").strip().upper() or "INFO"
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError(f"SHARER_LOG_LEVEL={level!r} must be DEBUG, INFO, WARNING or ERROR")
    return Config(
        source=None if keytab else source,
        target_dir=Path(env.get("SHARER_TARGET_DIR", "/krb5/cache").strip() or "/krb5/cache"),
        target_name=target_name,
        owner_uid=_integer(env, "SHARER_OWNER_UID", 50000),
        owner_gid=_integer(env, "SHARER_OWNER_GID", 0),
        file_mode=_file_mode(env),
        dir_mode=_integer(env, "SHARER_DIR_MODE", 0o711, base=8),
        poll_interval=_number(env, "SHARER_POLL_INTERVAL", 1.0, minimum=0.05),
        min_remaining=_number(env, "SHARER_MIN_REMAINING", 60.0),
        renew_margin=_number(env, "SHARER_RENEW_MARGIN", 3600.0),
        grace=_number(env, "SHARER_GRACE", 3.0),
        on_source_gone=on_gone,
        keytab=Path(keytab) if keytab else None,
        keytab_principal=keytab_principal,
        keytab_lifetime=env.get("SHARER_KEYTAB_LIFETIME", "").strip() or None,
        state_dir=Path(
            env.get("SHARER_STATE_DIR", "/run/kerberos-ticket-sharer").strip()
            or "/run/kerberos-ticket-sharer"
        ),
        heartbeat_max_age=_number(env, "SHARER_HEARTBEAT_MAX_AGE", 30.0, minimum=10),
        log_level=level,
    )
