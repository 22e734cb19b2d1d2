"""Who acts and which Airflow is asked to re-parse afterwards: the one description every
operation that moves a release pointer takes. Invariant: the token is never shown (not in
``repr``, not in any result)."""

from __future__ import annotations

from dataclasses import dataclass, field

from adp.validation import ImportStandby


@dataclass(frozen=True)
class Caller:
    """``actor``: recorded in the audit and the release pointer (default: user@host);
    ``airflow_url``/``token``: the Airflow asked to re-parse (default: the file's
    ``airflow.url``, ``ADP_AIRFLOW_URL`` and ``ADP_AIRFLOW_TOKEN``); ``standby``: the import
    check's worker kept warm by a long-running server that owns it (``adp mcp``)."""

    actor: str | None = None
    airflow_url: str | None = None
    token: str | None = field(default=None, repr=False)
    standby: ImportStandby | None = field(default=None, repr=False, compare=False)
