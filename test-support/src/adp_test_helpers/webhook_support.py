"""What the webhook tests share: the receiver running under uvicorn on loopback (in a thread),
deliveries signed the way each provider signs them (computed here, independently of
adp.webhooks), real-shaped push payloads, and a recording ``sync`` (the caller's side)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from adp.webhooks import ConnectionLimits, HookTarget, create_app, uvicorn_config
from adp_test_servers.ports import free_port

GITHUB_SECRET = b"gh-test-secret-6f1c2b9e4d"
GITLAB_SECRET = b"gl-test-token-83a0c51f77"
# A GitLab signing token: whsec_ and the base64 of a 32-byte key.
GITLAB_SIGNING_TOKEN = b"whsec_" + base64.b64encode(bytes(range(32)))
BITBUCKET_SECRET = b"bb-test-secret-0d9e2a4c61"
SHA_1 = "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432"
SHA_0 = "0" * 40


def sha(n: int) -> str:
    return hashlib.sha1(str(n).encode()).hexdigest()


# ---- the caller's side -----------------------------------------------------------------------


@dataclass
class Recorder:
    """A ``sync(name, reason)`` that records its calls; ``behave[name]`` runs inside the call."""

    calls: list[tuple[str, str]] = field(default_factory=list)
    times: list[float] = field(default_factory=list)  # time.monotonic() of each call
    behave: dict[str, Callable[[str, str], None]] = field(default_factory=dict)
    _cond: threading.Condition = field(default_factory=threading.Condition)

    def __call__(self, name: str, reason: str) -> None:
        with self._cond:
            self.calls.append((name, reason))
            self.times.append(time.monotonic())
            self._cond.notify_all()
        if name in self.behave:
            self.behave[name](name, reason)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[tuple[str, str]]:
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.calls) >= count, timeout):
                raise AssertionError(f"expected {count} syncs within {timeout} s: {self.calls}")
            return list(self.calls)


@dataclass
class Receiver:
    url: str
    client: httpx.Client
    recorder: Recorder
    state_dir: Path

    def post(self, name: str, body: bytes, headers: dict[str, str], **kw: Any) -> httpx.Response:
        return self.client.post(f"{self.url}/hooks/{name}", content=body, headers=headers, **kw)

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def health(self) -> httpx.Response:
        return self.client.get(f"{self.url}/healthz")

    def repository(self, name: str) -> dict[str, Any]:
        return self.health().json()["repositories"][name]

    def metrics(self) -> dict[str, float]:
        """The exposition's samples, ``name{labels}`` -> value."""
        text = self.client.get(f"{self.url}/metrics").text
        samples = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                key, _, value = line.rpartition(" ")
                samples[key] = float(value)
        return samples

    def idle(self, timeout: float = 5.0) -> dict[str, Any]:
        """healthz once no sync is queued or running."""
        deadline = time.monotonic() + timeout
        while True:
            body = self.health().json()
            if not any(r["running"] or r["queue_depth"] for r in body["repositories"].values()):
                return body
            if time.monotonic() > deadline:
                raise AssertionError(f"the receiver is still busy: {body}")
            time.sleep(0.02)


@contextmanager
def running_receiver(
    targets: list[HookTarget],
    state_dir: Path,
    recorder: Recorder | None = None,
    limits: ConnectionLimits | None = None,
    **options: Any,
) -> Iterator[Receiver]:
    """The real app under uvicorn on 127.0.0.1:<free port>, in a thread, until the block ends;
    ``limits`` are the server's connection limits (``serve``'s defaults when None)."""
    recorder = recorder if recorder is not None else Recorder()
    app = create_app(targets, recorder, state_dir, **options)
    port = free_port()
    server = uvicorn.Server(uvicorn_config(app, "127.0.0.1", port, limits))
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the webhook receiver did not start")
        time.sleep(0.01)
    try:
        with httpx.Client(timeout=10) as client:
            yield Receiver(f"http://127.0.0.1:{port}", client, recorder, state_dir)
    finally:
        server.should_exit = True
        thread.join(20)
        assert not thread.is_alive(), "uvicorn did not stop"


# ---- payloads, as each provider sends them (trimmed) ------------------------------------------


def github_push(ref: str = "refs/heads/main", after: str = SHA_1, deleted: bool = False) -> bytes:
    return json.dumps(
        {
            "ref": ref,
            "before": "a" * 40,
            "after": after,
            "repository": {
                "id": 123456,
                "name": "dags",
                "full_name": "acme/dags",
                "clone_url": "https://github.com/acme/dags.git",
                "default_branch": "main",
            },
            "pusher": {"name": "octocat", "email": "octocat@example.com"},
            "sender": {"login": "octocat", "id": 1},
            "created": False,
            "deleted": deleted,
            "forced": False,
            "base_ref": None,
            "compare": "https://github.com/acme/dags/compare/aaaaaaaaaaaa...9f8e7d6c5b4a",
            "commits": [] if deleted else [{"id": after, "message": "Add a DAG", "distinct": True}],
            "head_commit": None if deleted else {"id": after, "message": "Add a DAG"},
        }
    ).encode()


def gitlab_push(ref: str = "refs/heads/main", after: str = SHA_1) -> bytes:
    deleted = after == SHA_0
    return json.dumps(
        {
            "object_kind": "push",
            "event_name": "push",
            "before": "b" * 40,
            "after": after,
            "ref": ref,
            "ref_protected": True,
            "checkout_sha": None if deleted else after,
            "user_id": 4,
            "user_name": "John Smith",
            "user_username": "jsmith",
            "project_id": 15,
            "project": {
                "id": 15,
                "name": "dags",
                "path_with_namespace": "acme/dags",
                "default_branch": "main",
                "git_http_url": "https://gitlab.example.com/acme/dags.git",
            },
            "commits": [] if deleted else [{"id": after, "message": "Add a DAG"}],
            "total_commits_count": 0 if deleted else 1,
            "repository": {"name": "dags", "homepage": "https://gitlab.example.com/acme/dags"},
        }
    ).encode()


def bitbucket_push(branch: str | None = "main", after: str = SHA_1, old: str = "main") -> bytes:
    new = None
    if branch is not None:
        new = {
            "type": "branch",
            "name": branch,
            "target": {"type": "commit", "hash": after, "message": "Add a DAG\n"},
        }
    return json.dumps(
        {
            "push": {
                "changes": [
                    {
                        "new": new,
                        "old": {
                            "type": "branch",
                            "name": old,
                            "target": {"type": "commit", "hash": "c" * 40},
                        },
                        "created": False,
                        "closed": new is None,
                        "forced": False,
                        "truncated": False,
                        "commits": [] if new is None else [{"hash": after}],
                    }
                ]
            },
            "repository": {"type": "repository", "full_name": "acme/dags", "name": "dags"},
            "actor": {"type": "user", "display_name": "Jane"},
        }
    ).encode()


# ---- headers, signed as each provider signs -----------------------------------------------------


def github_headers(
    body: bytes, secret: bytes = GITHUB_SECRET, event: str = "push", delivery: str | None = None
) -> dict[str, str]:
    digest = hmac.new(secret, body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/abc1234",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-GitHub-Hook-ID": "4242",
        "X-Hub-Signature-256": f"sha256={digest}",
    }


def gitlab_token_headers(
    token: bytes = GITLAB_SECRET, event: str = "Push Hook", delivery: str | None = None
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": "GitLab/18.0.0",
        "X-Gitlab-Event": event,
        "X-Gitlab-Token": token.decode(),
        "X-Gitlab-Event-UUID": str(uuid.uuid4()),
        "X-Gitlab-Webhook-UUID": "7f2f0a62-2b8f-4d5d-9b2c-0b7c0b4c7d11",
        "Idempotency-Key": delivery or str(uuid.uuid4()),
        "X-Gitlab-Instance": "https://gitlab.example.com",
    }


def gitlab_signed_headers(
    body: bytes,
    token: bytes = GITLAB_SIGNING_TOKEN,
    event: str = "Push Hook",
    delivery: str | None = None,
    timestamp: int | None = None,
) -> dict[str, str]:
    """Standard Webhooks: HMAC-SHA256 keyed by the token's decoded bytes over id.timestamp.body."""
    delivery = delivery or str(uuid.uuid4())
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    key = base64.b64decode(token.removeprefix(b"whsec_"))
    signed = delivery.encode() + b"." + stamp.encode() + b"." + body
    signature = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return {
        "Content-Type": "application/json",
        "User-Agent": "GitLab/19.0.0",
        "X-Gitlab-Event": event,
        "X-Gitlab-Event-UUID": str(uuid.uuid4()),
        "Idempotency-Key": delivery,
        "webhook-id": delivery,
        "webhook-timestamp": stamp,
        "webhook-signature": f"v1,{signature}",
    }


def bitbucket_headers(
    body: bytes,
    secret: bytes = BITBUCKET_SECRET,
    event: str = "repo:push",
    delivery: str | None = None,
    attempt: int = 1,
) -> dict[str, str]:
    digest = hmac.new(secret, body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "User-Agent": "Bitbucket-Webhooks/2.0",
        "X-Event-Key": event,
        "X-Request-UUID": delivery or str(uuid.uuid4()),
        "X-Hook-UUID": "{3e2a1c4b-0f5d-4e6a-8b7c-9d0e1f2a3b4c}",
        "X-Attempt-Number": str(attempt),
        "X-Hub-Signature": f"sha256={digest}",
    }


def targets(**poll: float) -> list[HookTarget]:
    """One repository per provider (and form), branch main; ``poll`` gives poll intervals."""
    return [
        HookTarget("gh", "github", GITHUB_SECRET, "main", poll.get("gh")),
        HookTarget("gl", "gitlab", GITLAB_SECRET, "main", poll.get("gl")),
        HookTarget("gls", "gitlab", GITLAB_SIGNING_TOKEN, "main", poll.get("gls")),
        HookTarget("bb", "bitbucket", BITBUCKET_SECRET, "main", poll.get("bb")),
    ]
