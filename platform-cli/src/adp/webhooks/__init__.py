"""The signed-webhook receiver: pushes from GitHub, GitLab and Bitbucket Cloud turned into calls
of the caller's ``sync(name, reason)`` (``adp repos serve`` is the caller).

Invariant: bad input never causes a sync. A sync is queued only for a request to a configured
repository whose body fits ``max_body``, whose signature over the raw body verifies (constant
time, against that repository's secret; for GitLab's signing token also within 5 minutes of our
clock), that is a push event, that moves the configured branch to a new commit, and whose
delivery id was never recorded before (ids are recorded only after the signature verified, in a
sqlite database under ``state_dir`` that outlives restarts). Anything else is answered (404,
413, 401, 400, or 200 "ignored"/"duplicate") and counted, and nothing else happens. Work is
never done in the request: a sync runs on a small pool of worker threads, one at a time per
repository, and any number of events arriving while a repository syncs cause exactly one more
sync after it. Secrets and received or expected signatures are never logged, answered or put
in a repr. The optional polling fallback calls ``sync(name, "poll")`` through the same queue.

Slow clients cannot hold the receiver: a request must arrive whole within a read deadline, each
client holds at most its share of connections, and a connection still reading a request gives
way to a newcomer when the server is full (``connections``; the invariant is there).

Modules: ``targets`` (``HookTarget``), ``providers`` (each provider's signature, delivery id,
event and push payload), ``dedup`` (the delivery ids), ``worker`` (the sync queue, the poller),
``metrics`` (counts and Prometheus text), ``connections`` (``ConnectionLimits`` and the guarded
HTTP protocol), ``app`` (``create_app``, ``serve``). A library: no typer. docs/webhooks.md is
the reference (endpoints, headers, status codes, connection limits, metrics).
"""

from adp.webhooks.app import create_app, serve, uvicorn_config
from adp.webhooks.connections import ConnectionLimits
from adp.webhooks.targets import HookTarget, Provider

__all__ = ["ConnectionLimits", "HookTarget", "Provider", "create_app", "serve", "uvicorn_config"]
