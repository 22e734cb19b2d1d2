"""The receiver's Starlette app: ``POST /hooks/<name>``, ``GET /healthz``, ``GET /metrics``.

A delivery is answered at once; the sync it asks for runs on the sync queue's worker threads.
The checks run in this order, and each failure answers without doing anything:
unknown name 404, body over ``max_body`` 413 (Content-Length first, then counted while
streaming: never buffered past the limit), bad or missing signature 401, not a push 200
"ignored", malformed JSON or payload 400, no push to the configured branch (or the branch was
deleted) 200 "ignored", no delivery id 400, delivery id already recorded 200 "duplicate";
only then is the id recorded and a sync queued: 202 "accepted".
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from adp.errors import UsageError
from adp.webhooks.connections import MAX_REQUEST_HEAD, ConnectionLimits, guarded_protocol
from adp.webhooks.dedup import DeliveryLog
from adp.webhooks.metrics import CONTENT_TYPE, DeliveryCounts, exposition
from adp.webhooks.providers import (
    SIGNING_TOKEN_PREFIX,
    BadSignature,
    Malformed,
    authenticate,
    parse_pushes,
)
from adp.webhooks.targets import HookTarget
from adp.webhooks.worker import Poller, SyncQueue

log = logging.getLogger(__name__)

DEFAULT_MAX_BODY = 1_048_576
DB_NAME = "deliveries.sqlite"
# ASCII digits only: str.isdigit() also accepts '²', which int() refuses.
DECIMAL = re.compile(r"[0-9]+")


class BodyTooLarge(UsageError):
    """A request body over the receiver's limit (413); named apart from the release store's
    TooLarge."""


def _redactor(targets: Sequence[HookTarget]) -> Callable[[str], str]:
    """Replaces every configured secret (and a signing token's key part) in a text."""
    texts = set()
    for target in targets:
        if target.secret is None:
            continue
        texts.add(target.secret.decode("utf-8", "replace"))
        texts.add(target.secret.removeprefix(SIGNING_TOKEN_PREFIX).decode("utf-8", "replace"))
    secrets = sorted(texts - {""}, key=len, reverse=True)

    def redact(text: str) -> str:
        for secret in secrets:
            text = text.replace(secret, "<secret>")
        return text

    return redact


async def _read_body(request: Request, limit: int) -> bytes:
    """The raw body, refused (BodyTooLarge) as soon as it is known to pass ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not DECIMAL.fullmatch(declared):
            raise Malformed("Content-Length is not a number")
        digits = declared.lstrip("0") or "0"
        if len(digits) > len(str(limit)) or int(digits) > limit:  # no int() of 5,000 digits
            raise BodyTooLarge(f"the body is over {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"the body is over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _answer(status: int, outcome: str, detail: str | None = None, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"status": outcome, **extra}
    if detail:
        body["detail"] = detail
    headers = {"Connection": "close"} if status == 413 else None
    return JSONResponse(body, status_code=status, headers=headers)


def create_app(
    targets: Sequence[HookTarget],
    sync: Callable[[str, str], object],
    state_dir: Path,
    max_body: int = DEFAULT_MAX_BODY,
    *,
    workers: int = 4,
    shutdown_timeout: float = 10.0,
) -> Starlette:
    """The receiver for ``targets``. ``sync(name, reason)`` runs on a worker thread, one at a
    time per repository, ``reason`` being ``"webhook <provider> <delivery id> <sha>"`` or
    ``"poll"``. Delivery ids are kept in ``state_dir/deliveries.sqlite``. At most ``workers``
    repositories sync at once."""
    by_name: dict[str, HookTarget] = {}
    for target in targets:
        if target.name in by_name:
            raise ValueError(f"hook target {target.name}: named twice")
        by_name[target.name] = target
    if max_body < 1:
        raise ValueError("max_body must be at least 1 byte")
    deliveries = DeliveryLog(Path(state_dir) / DB_NAME)
    counts = DeliveryCounts(by_name)
    redact = _redactor(targets)
    sync_queue = SyncQueue(by_name, sync, workers=min(workers, max(1, len(by_name))), redact=redact)
    poller = Poller(
        {t.name: t.poll_interval for t in targets if t.poll_interval is not None}, sync_queue
    )

    def outcome(
        name: str, what: str, status: int, detail: str | None = None, **extra: Any
    ) -> JSONResponse:
        counts.count(name, what)
        return _answer(status, what, detail, **extra)

    async def hook(request: Request) -> Response:
        name = request.path_params["name"]
        target = by_name.get(name)
        if target is None:
            return outcome("", "unknown", 404, "no such repository")
        if target.secret is None:
            return outcome(name, "unknown", 404, "no webhook is configured for this repository")
        client = request.client.host if request.client else "?"
        try:
            body = await _read_body(request, max_body)
        except BodyTooLarge:
            log.warning("webhooks: %s: body over %d bytes from %s refused", name, max_body, client)
            return outcome(name, "too_large", 413, f"body over {max_body} bytes")
        except Malformed as exc:
            return outcome(name, "malformed", 400, str(exc))
        except ClientDisconnect:
            counts.count(name, "malformed")
            return Response(status_code=400)
        try:
            delivery = authenticate(target, request.headers, body, time.time())
        except BadSignature as exc:
            # The reason is one of ours (no header value in it); the answer says less.
            log.warning("webhooks: %s: refused a delivery from %s: %s", name, client, exc)
            return outcome(name, "bad_signature", 401, "signature missing or invalid")
        except Malformed as exc:
            return outcome(name, "malformed", 400, str(exc))
        if delivery.event != "push":
            log.info("webhooks: %s: %s event ignored", name, delivery.event[:40])
            return outcome(name, "ignored", 200, f"{delivery.event[:40]} is not a push")
        try:
            pushes = parse_pushes(target, json.loads(body))
        except (ValueError, RecursionError, Malformed) as exc:
            detail = str(exc) if isinstance(exc, Malformed) else "the body is not JSON"
            log.warning("webhooks: %s: malformed push from %s: %s", name, client, detail)
            return outcome(name, "malformed", 400, detail)
        matching = [p for p in pushes if p.ref == target.ref]
        if not matching:
            return outcome(name, "ignored", 200, f"no push to {target.ref}")
        push = matching[-1]
        if push.sha is None:
            log.info("webhooks: %s: %s deleted; nothing to do", name, target.ref)
            return outcome(name, "ignored", 200, f"{target.ref} was deleted")
        if delivery.delivery_id is None:
            return outcome(name, "malformed", 400, "no delivery id header")
        if not await run_in_threadpool(deliveries.record, name, delivery.delivery_id):
            log.info("webhooks: %s: delivery %s already seen", name, delivery.delivery_id)
            return outcome(name, "duplicate", 200, delivery_id=delivery.delivery_id)
        reason = f"webhook {target.provider} {delivery.delivery_id} {push.sha}"
        queued = sync_queue.submit(name, reason)
        log.info("webhooks: %s: accepted %s (%s)", name, reason, queued)
        return outcome(
            name, "accepted", 202, delivery_id=delivery.delivery_id, sha=push.sha, sync=queued
        )

    def healthy() -> bool:
        return sync_queue.alive() and poller.alive()

    async def healthz(request: Request) -> Response:
        syncs = sync_queue.snapshot()
        repositories = {}
        for name, state in syncs.items():
            state.pop("duration_sum")
            state["deliveries"] = counts.for_repository(name)
            state["poll_interval"] = by_name[name].poll_interval
            repositories[name] = state
        ok = healthy()
        body = {
            "status": "ok" if ok else "unhealthy",
            "workers_alive": sync_queue.alive(),
            "poller_alive": poller.alive(),
            "queue_depth": sum(s["queue_depth"] for s in repositories.values()),
            "repositories": repositories,
        }
        return JSONResponse(body, status_code=200 if ok else 503)

    async def metrics(request: Request) -> Response:
        guard = getattr(request.app.state, "connections", None)  # set by uvicorn_config
        connections = guard.snapshot() if guard is not None else None
        text = exposition(counts.snapshot(), sync_queue.snapshot(), healthy(), connections)
        return PlainTextResponse(text, media_type=CONTENT_TYPE)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        sync_queue.start()
        poller.start()
        log.info(
            "webhooks: serving %s", ", ".join(f"{t.name} ({t.provider})" for t in targets) or "-"
        )
        try:
            yield
        finally:
            poller.stop()
            await run_in_threadpool(sync_queue.stop, shutdown_timeout)

    app = Starlette(
        routes=[
            Route("/hooks/{name}", hook, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    app.state.sync_queue = sync_queue
    app.state.deliveries = deliveries
    return app


def uvicorn_config(
    app: Starlette,
    host: str = "127.0.0.1",
    port: int = 8099,
    limits: ConnectionLimits | None = None,
) -> uvicorn.Config:
    """The server settings ``serve`` runs with (the tests run the same): uvicorn's h11 protocol
    (pure Python, its head size bounded) under ``limits`` (the read deadline, the share per
    client, the connection count: see ``adp.webhooks.connections``). uvicorn's own
    ``limit_concurrency`` stays off: it counts slow readers too and answers the next signed
    push 503, which is the attack the limits stop."""
    protocol = guarded_protocol(limits or ConnectionLimits())
    app.state.connections = protocol.guard  # /metrics reports it
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=protocol,
        ws="none",
        h11_max_incomplete_event_size=MAX_REQUEST_HEAD,
        lifespan="on",
        server_header=False,
        proxy_headers=False,
        limit_concurrency=None,
        timeout_keep_alive=5,
        log_config=None,  # the caller's logging configuration applies
    )


def serve(
    app: Starlette,
    host: str = "127.0.0.1",
    port: int = 8099,
    limits: ConnectionLimits | None = None,
) -> None:
    """Run ``app`` under uvicorn until SIGINT or SIGTERM; blocking. uvicorn shuts down cleanly
    (the lifespan stops the poller and lets running syncs finish) and then re-raises the signal,
    so the process ends as killed by it (exit status 143 for SIGTERM)."""
    uvicorn.Server(uvicorn_config(app, host, port, limits)).run()
