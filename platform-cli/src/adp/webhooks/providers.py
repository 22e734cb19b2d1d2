"""Each provider's signature, delivery id, event name and push payload.

Every signature is checked over the raw body bytes with ``hmac.compare_digest``. Nothing here
logs, and no error message carries a secret, a received signature or an expected one.

- GitHub: ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>``, delivery id
  ``X-GitHub-Delivery``, event ``X-GitHub-Event`` (``push``; ``ping`` is answered).
- GitLab, secret token: ``X-Gitlab-Token`` is the secret itself; delivery id ``Idempotency-Key``
  (stable on retries) or else ``X-Gitlab-Event-UUID``; event ``X-Gitlab-Event: Push Hook``.
- GitLab, signing token (Standard Webhooks): ``webhook-id``, ``webhook-timestamp`` (Unix
  seconds, accepted within ``TOLERANCE`` of our clock), ``webhook-signature``: space-separated
  ``v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`` entries, any one matching. A
  signing token is ``whsec_<base64 key>`` and the HMAC key is the decoded bytes; the delivery id
  is ``webhook-id`` (GitLab sends the Idempotency-Key value there).
- Bitbucket Cloud: ``X-Hub-Signature: sha256=<hex>``, delivery id ``X-Request-UUID`` (kept on
  redelivery, while ``X-Attempt-Number`` grows), event ``X-Event-Key: repo:push``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from adp.errors import UsageError
from adp.webhooks.targets import HookTarget

TOLERANCE = 300.0  # seconds between webhook-timestamp and our clock (Standard Webhooks)
SIGNING_TOKEN_PREFIX = b"whsec_"
# Delivery ids go into the database and into the sync's reason: short, no spaces.
DELIVERY_ID = re.compile(r"[A-Za-z0-9._:{}-]{1,200}")
SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
ZERO = re.compile(r"0+")
# Unix seconds in ASCII digits only: str.isdigit() also accepts '²' and other digits int() refuses.
UNIX_SECONDS = re.compile(r"[0-9]{1,12}")


class BadSignature(UsageError):
    """The request is not authenticated (missing, malformed or wrong signature, stale time)."""


class Malformed(UsageError):
    """The request is authenticated but its body or headers cannot be understood."""


@dataclass(frozen=True)
class Delivery:
    """An authenticated request: its event (``push``, ``ping`` or anything else) and id."""

    event: str
    delivery_id: str | None


@dataclass(frozen=True)
class Push:
    ref: str  # refs/heads/<name> or refs/tags/<name>
    sha: str | None  # None: the ref was deleted


def authenticate(
    target: HookTarget, headers: Mapping[str, str], body: bytes, now: float
) -> Delivery:
    """Check the request's signature for ``target``; raise BadSignature unless it is valid."""
    if target.secret is None:  # no webhook configured (the receiver answers 404 before)
        raise BadSignature("no webhook secret is configured for this repository")
    if target.provider == "github":
        _check_hex_hmac(headers.get("x-hub-signature-256"), target.secret, body)
        event = headers.get("x-github-event", "")
        return Delivery(
            "push" if event == "push" else event or "?", _id(headers, "x-github-delivery")
        )
    if target.provider == "bitbucket":
        _check_hex_hmac(headers.get("x-hub-signature"), target.secret, body)
        event = headers.get("x-event-key", "")
        return Delivery(
            "push" if event == "repo:push" else event or "?", _id(headers, "x-request-uuid")
        )
    # gitlab
    delivery_id: str | None
    if "webhook-signature" in headers:
        delivery_id = _check_standard_webhook(headers, target.secret, body, now)
    else:
        if target.secret.startswith(SIGNING_TOKEN_PREFIX):
            # A signing token is configured: the unsigned form would give up replay protection.
            raise BadSignature("no webhook-signature header (a signing token is configured)")
        token = headers.get("x-gitlab-token")
        if token is None:
            raise BadSignature("no X-Gitlab-Token header")
        if not hmac.compare_digest(token.encode("latin-1"), target.secret):
            raise BadSignature("wrong X-Gitlab-Token")
        delivery_id = _id(headers, "idempotency-key") or _id(headers, "x-gitlab-event-uuid")
    event = headers.get("x-gitlab-event", "")
    return Delivery("push" if event == "Push Hook" else event or "?", delivery_id)


def _id(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None or value == "":
        return None
    if not DELIVERY_ID.fullmatch(value):
        raise Malformed(f"the {name} header is not a delivery id")
    return value


def _check_hex_hmac(header: str | None, secret: bytes, body: bytes) -> None:
    if header is None:
        raise BadSignature("no signature header")
    scheme, _, given = header.partition("=")
    if scheme != "sha256" or not given:
        raise BadSignature("the signature header is not sha256=<hex>")
    expected = hmac.new(secret, body, hashlib.sha256).hexdigest().encode()
    if not hmac.compare_digest(given.strip().lower().encode("latin-1"), expected):
        raise BadSignature("wrong signature")


def signing_key(secret: bytes) -> bytes:
    """The HMAC key of a Standard Webhooks secret: ``whsec_<base64>`` decoded, else the bytes."""
    if secret.startswith(SIGNING_TOKEN_PREFIX):
        try:
            return base64.b64decode(secret[len(SIGNING_TOKEN_PREFIX) :], validate=True)
        except binascii.Error:
            raise BadSignature("the configured signing token is not whsec_<base64>") from None
    return secret


def standard_signature(key: bytes, delivery_id: str, timestamp: str, body: bytes) -> str:
    signed = f"{delivery_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def _check_standard_webhook(
    headers: Mapping[str, str], secret: bytes, body: bytes, now: float
) -> str:
    delivery_id = headers.get("webhook-id")
    timestamp = headers.get("webhook-timestamp")
    signatures = headers.get("webhook-signature", "")
    if not delivery_id or not timestamp:
        raise BadSignature("webhook-id or webhook-timestamp missing")
    if not DELIVERY_ID.fullmatch(delivery_id):
        raise BadSignature("webhook-id is not a delivery id")
    if not UNIX_SECONDS.fullmatch(timestamp):
        raise BadSignature("webhook-timestamp is not Unix seconds")
    if abs(now - int(timestamp)) > TOLERANCE:
        raise BadSignature("webhook-timestamp is too old or in the future")
    expected = standard_signature(signing_key(secret), delivery_id, timestamp, body).encode()
    # One or more space-separated "<version>,<signature>" entries; any valid v1 one passes.
    matched = False
    for entry in signatures.split():
        matched |= hmac.compare_digest(entry.encode("latin-1"), expected)
    if not matched:
        raise BadSignature("no matching v1 signature")
    return delivery_id


def parse_pushes(target: HookTarget, payload: Any) -> list[Push]:
    """The refs a push event moved, with their new commit (None when deleted)."""
    if not isinstance(payload, dict):
        raise Malformed("the payload is not a JSON object")
    if target.provider == "bitbucket":
        return _bitbucket_pushes(payload)
    ref = payload.get("ref")
    after = payload.get("after")
    if target.provider == "gitlab" and not isinstance(after, str):
        after = payload.get("checkout_sha")
    if not isinstance(ref, str) or not (after is None or isinstance(after, str)):
        raise Malformed("the push payload has no ref or after")
    if after is None or ZERO.fullmatch(after) or payload.get("deleted") is True:
        return [Push(ref, None)]
    return [Push(ref, _sha(after))]


def _bitbucket_pushes(payload: dict[str, Any]) -> list[Push]:
    push = payload.get("push")
    changes = push.get("changes") if isinstance(push, dict) else None
    if not isinstance(changes, list):
        raise Malformed("the push payload has no push.changes")
    pushes = []
    for change in changes:
        if not isinstance(change, dict):
            raise Malformed("a push change is not an object")
        new, old = change.get("new"), change.get("old")
        if new is None:  # deleted: only the old side names the ref
            if isinstance(old, dict) and old.get("type") == "branch":
                pushes.append(Push(f"refs/heads/{old.get('name')}", None))
            continue
        if not isinstance(new, dict):
            raise Malformed("a push change's new is not an object")
        kind, name, target = new.get("type"), new.get("name"), new.get("target")
        if not isinstance(name, str) or not isinstance(target, dict):
            raise Malformed("a push change has no name or target")
        prefix = "refs/heads/" if kind == "branch" else "refs/tags/" if kind == "tag" else None
        if prefix is None:
            continue
        hash_ = target.get("hash")
        if not isinstance(hash_, str):
            raise Malformed("a push change has no target.hash")
        pushes.append(Push(prefix + name, _sha(hash_)))
    return pushes


def _sha(value: str) -> str:
    if not SHA.fullmatch(value):
        raise Malformed("the new commit is not a hexadecimal sha")
    return value
