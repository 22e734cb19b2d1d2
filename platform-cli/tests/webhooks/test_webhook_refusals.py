"""Bad input never causes a sync: every refusal answers its status, is counted under its
outcome, and leaves the sync count at zero. One receiver serves the whole module."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from adp.webhooks.dedup import DeliveryLog
from adp.webhooks.targets import HookTarget
from adp_test_helpers.webhook_support import (
    BITBUCKET_SECRET,
    GITHUB_SECRET,
    GITLAB_SECRET,
    GITLAB_SIGNING_TOKEN,
    SHA_0,
    Receiver,
    bitbucket_headers,
    bitbucket_push,
    github_headers,
    github_push,
    gitlab_push,
    gitlab_signed_headers,
    gitlab_token_headers,
    running_receiver,
    targets,
)

MAX_BODY = 64 * 1024


@pytest.fixture(scope="module")
def receiver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Receiver]:
    with running_receiver(targets(), tmp_path_factory.mktemp("state"), max_body=MAX_BODY) as r:
        yield r


@pytest.fixture(autouse=True)
def no_sync_ever(receiver: Receiver) -> Iterator[None]:
    yield
    # A sync is queued inside the request, before its answer: none may be queued or have run.
    body = receiver.health().json()
    for name, state in body["repositories"].items():
        assert state["queue_depth"] == 0 and not state["running"], name
        assert state["syncs_ok"] + state["syncs_error"] == 0, name
    assert receiver.recorder.calls == []


def without(headers: dict[str, str], *names: str) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k not in names}


def tampered(headers: dict[str, str], name: str) -> dict[str, str]:
    value = headers[name]
    flipped = "0" if value[-1] != "0" else "1"
    return headers | {name: value[:-1] + flipped}


GH, GL, BB = github_push(), gitlab_push(), bitbucket_push()


def bad_signatures() -> dict[str, tuple[str, bytes, dict[str, str]]]:
    """Each badly signed request, built when it is sent: its timestamps are relative to that
    moment, not to when the module was collected (a session runs for many minutes)."""
    now = int(time.time())
    return {
        "github wrong secret": ("gh", GH, github_headers(GH, secret=b"not-the-secret")),
        "github signature flipped": ("gh", GH, tampered(github_headers(GH), "X-Hub-Signature-256")),
        "github missing signature": ("gh", GH, without(github_headers(GH), "X-Hub-Signature-256")),
        "github sha1 only": (
            "gh",
            GH,
            without(github_headers(GH), "X-Hub-Signature-256")
            | {"X-Hub-Signature": github_headers(GH)["X-Hub-Signature-256"]},
        ),
        "github body changed": ("gh", GH + b" ", github_headers(GH)),
        "github signed with another repository's secret": (
            "gh",
            BB,
            github_headers(BB, secret=BITBUCKET_SECRET),
        ),
        "gitlab wrong token": ("gl", GL, gitlab_token_headers(token=b"gl-test-token-83a0c51f78")),
        "gitlab missing token": ("gl", GL, without(gitlab_token_headers(), "X-Gitlab-Token")),
        "gitlab signed: wrong signature": (
            "gls",
            GL,
            tampered(gitlab_signed_headers(GL), "webhook-signature"),
        ),
        "gitlab signed: body changed": ("gls", GL + b"\n", gitlab_signed_headers(GL)),
        "gitlab signed: id changed": (
            "gls",
            GL,
            gitlab_signed_headers(GL) | {"webhook-id": "another-id"},
        ),
        "gitlab signed: 6 minutes old": ("gls", GL, gitlab_signed_headers(GL, timestamp=now - 360)),
        "gitlab signed: 6 minutes ahead": (
            "gls",
            GL,
            gitlab_signed_headers(GL, timestamp=now + 360),
        ),
        "gitlab signed: no timestamp": (
            "gls",
            GL,
            without(gitlab_signed_headers(GL), "webhook-timestamp"),
        ),
        "gitlab signed: wrong key": (
            "gls",
            GL,
            gitlab_signed_headers(GL, token=b"whsec_" + b"A" * 44),
        ),
        "gitlab signed: the signing token sent as a plain token": (
            "gls",
            GL,
            gitlab_token_headers(token=GITLAB_SIGNING_TOKEN),
        ),
        "bitbucket wrong secret": ("bb", BB, bitbucket_headers(BB, secret=GITHUB_SECRET)),
        "bitbucket missing signature": (
            "bb",
            BB,
            without(bitbucket_headers(BB), "X-Hub-Signature"),
        ),
        "bitbucket sha1 scheme": (
            "bb",
            BB,
            bitbucket_headers(BB) | {"X-Hub-Signature": "sha1=" + "0" * 40},
        ),
    }


BAD_SIGNATURES = list(bad_signatures())


@pytest.mark.parametrize("case", BAD_SIGNATURES, ids=BAD_SIGNATURES)
def test_a_bad_or_missing_signature_is_refused_with_401(receiver: Receiver, case: str) -> None:
    name, body, headers = bad_signatures()[case]
    before = receiver.metrics()
    answer = receiver.post(name, body, headers)
    assert answer.status_code == 401, answer.text
    assert answer.json() == {"status": "bad_signature", "detail": "signature missing or invalid"}
    key = f'adp_webhook_deliveries_total{{repository="{name}",outcome="bad_signature"}}'
    assert receiver.metrics()[key] == before[key] + 1


def signature_values(headers: dict[str, str]) -> set[str]:
    found = set()
    for key in ("X-Hub-Signature-256", "X-Hub-Signature", "webhook-signature"):
        if key in headers:
            found.add(headers[key].removeprefix("sha256=").removeprefix("v1,"))
    return found


def test_the_401_answer_echoes_no_secret_and_no_signature(receiver: Receiver) -> None:
    right = {
        "gh": lambda body, h: github_headers(body),
        "gls": lambda body, h: gitlab_signed_headers(
            body,
            delivery=h.get("webhook-id"),
            timestamp=int(h.get("webhook-timestamp", time.time())),
        ),
        "bb": lambda body, h: bitbucket_headers(body),
        "gl": lambda body, h: gitlab_token_headers(),
    }
    for name, body, headers in bad_signatures().values():
        text = receiver.post(name, body, headers).text
        expected = signature_values(right[name](body, headers))
        for value in signature_values(headers) | expected:
            assert value not in text
        for secret in (GITHUB_SECRET, GITLAB_SECRET, GITLAB_SIGNING_TOKEN, BITBUCKET_SECRET):
            assert secret.decode() not in text


def test_an_unknown_repository_is_404(receiver: Receiver) -> None:
    answer = receiver.post("nope", GH, github_headers(GH))
    assert answer.status_code == 404 and answer.json()["status"] == "unknown"
    assert receiver.metrics()['adp_webhook_deliveries_total{repository="",outcome="unknown"}'] >= 1


def big_push() -> bytes:
    payload = json.loads(github_push())
    payload["commits"] = [{"id": "d" * 40, "message": "x" * 1000}] * 1000  # about 1 MB
    return json.dumps(payload).encode()


def test_a_body_over_max_body_with_content_length_is_413(receiver: Receiver) -> None:
    body = big_push()
    assert len(body) > MAX_BODY
    answer = receiver.post("gh", body, github_headers(body))
    assert answer.status_code == 413 and answer.json()["status"] == "too_large"


def test_a_chunked_body_over_max_body_is_413_while_streaming(receiver: Receiver) -> None:
    body = big_push()
    chunks = (body[i : i + 8192] for i in range(0, len(body), 8192))
    before = receiver.metrics()['adp_webhook_deliveries_total{repository="gh",outcome="too_large"}']
    answer = receiver.client.post(
        f"{receiver.url}/hooks/gh", content=chunks, headers=github_headers(body)
    )
    assert answer.request.headers.get("transfer-encoding") == "chunked"
    assert "content-length" not in answer.request.headers
    assert answer.status_code == 413 and answer.json()["status"] == "too_large"
    after = receiver.metrics()['adp_webhook_deliveries_total{repository="gh",outcome="too_large"}']
    assert after == before + 1


def raw_request(receiver: Receiver, head: bytes, body: bytes) -> bytes:
    """Send ``head`` and ``body`` and read the answer without sending anything more."""
    with socket.create_connection(("127.0.0.1", receiver.port), timeout=5) as sock:
        sock.sendall(head + body)
        answer = b""
        while b"\r\n\r\n" not in answer:
            data = sock.recv(65536)
            if not data:
                break
            answer += data
        return answer


def test_a_huge_content_length_is_refused_before_any_body_arrives(receiver: Receiver) -> None:
    # 10 GB announced, nothing sent: the answer comes at once, so nothing was buffered first.
    head = (
        b"POST /hooks/gh HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"X-GitHub-Event: push\r\nContent-Length: 10737418240\r\n\r\n"
    )
    started = time.monotonic()
    answer = raw_request(receiver, head, b"")
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert time.monotonic() - started < 2


def test_an_endless_chunked_body_is_refused_once_max_body_is_passed(receiver: Receiver) -> None:
    # Chunks past the limit and no final chunk: the answer cannot wait for the body's end.
    head = (
        b"POST /hooks/gh HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"X-GitHub-Event: push\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"4000\r\n" + b"x" * 0x4000 + b"\r\n"
    answer = raw_request(receiver, head, chunk * (MAX_BODY // 0x4000 + 2))
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]


def test_a_chunked_body_under_max_body_is_read(receiver: Receiver) -> None:
    body = b"{not json"
    answer = receiver.client.post(
        f"{receiver.url}/hooks/gh", content=iter([body[:4], body[4:]]), headers=github_headers(body)
    )
    assert answer.status_code == 400  # read whole and checked: the signature passed, JSON not


MALFORMED = {
    "github: not JSON": ("gh", b"{not json", github_headers),
    "github: a JSON array": ("gh", b"[1, 2]", github_headers),
    "github: no ref": ("gh", b'{"after": "' + b"1" * 40 + b'"}', github_headers),
    "github: after is not a sha": (
        "gh",
        b'{"ref": "refs/heads/main", "after": "HEAD"}',
        github_headers,
    ),
    "bitbucket: no push.changes": ("bb", b'{"push": {}}', bitbucket_headers),
    "bitbucket: truncated": ("bb", bitbucket_push()[:-7], bitbucket_headers),
}


@pytest.mark.parametrize("case", MALFORMED, ids=list(MALFORMED))
def test_a_signed_but_malformed_payload_is_400(receiver: Receiver, case: str) -> None:
    name, body, sign = MALFORMED[case]
    answer = receiver.post(name, body, sign(body))
    assert answer.status_code == 400 and answer.json()["status"] == "malformed", answer.text


def test_gitlab_malformed_json_is_400_in_both_forms(receiver: Receiver) -> None:
    body = b'{"object_kind": "push", '
    assert receiver.post("gl", body, gitlab_token_headers()).status_code == 400
    assert receiver.post("gls", body, gitlab_signed_headers(body)).status_code == 400


def test_a_push_without_a_delivery_id_is_400(receiver: Receiver) -> None:
    answer = receiver.post("gh", GH, without(github_headers(GH), "X-GitHub-Delivery"))
    assert answer.status_code == 400 and answer.json()["detail"] == "no delivery id header"
    headers = without(gitlab_token_headers(), "Idempotency-Key", "X-Gitlab-Event-UUID")
    assert receiver.post("gl", GL, headers).status_code == 400


def ignored() -> dict[str, tuple[str, bytes, dict[str, str]]]:
    """Each request to ignore, built when it is sent (signed ones carry a timestamp)."""
    return {
        "github issues event": ("gh", GH, github_headers(GH, event="issues")),
        "gitlab merge request": ("gl", GL, gitlab_token_headers(event="Merge Request Hook")),
        "gitlab signed tag push": ("gls", GL, gitlab_signed_headers(GL, event="Tag Push Hook")),
        "bitbucket pull request": ("bb", BB, bitbucket_headers(BB, event="pullrequest:created")),
        "github other branch": (
            "gh",
            github_push(ref="refs/heads/feature"),
            github_headers(github_push(ref="refs/heads/feature")),
        ),
        "github tag named main": (
            "gh",
            github_push(ref="refs/tags/main"),
            github_headers(github_push(ref="refs/tags/main")),
        ),
        "gitlab other branch": ("gl", gitlab_push(ref="refs/heads/dev"), gitlab_token_headers()),
        "bitbucket other branch": (
            "bb",
            bitbucket_push(branch="dev"),
            bitbucket_headers(bitbucket_push(branch="dev")),
        ),
        "github branch deleted": (
            "gh",
            github_push(after=SHA_0, deleted=True),
            github_headers(github_push(after=SHA_0, deleted=True)),
        ),
        "gitlab branch deleted": ("gl", gitlab_push(after=SHA_0), gitlab_token_headers()),
        "gitlab signed branch deleted": (
            "gls",
            gitlab_push(after=SHA_0),
            gitlab_signed_headers(gitlab_push(after=SHA_0)),
        ),
        "bitbucket branch deleted": (
            "bb",
            bitbucket_push(branch=None),
            bitbucket_headers(bitbucket_push(branch=None)),
        ),
    }


IGNORED = list(ignored())


@pytest.mark.parametrize("case", IGNORED, ids=IGNORED)
def test_other_events_branches_and_deletions_are_ignored(receiver: Receiver, case: str) -> None:
    name, body, headers = ignored()[case]
    before = receiver.metrics()
    answer = receiver.post(name, body, headers)
    assert answer.status_code == 200 and answer.json()["status"] == "ignored", answer.text
    key = f'adp_webhook_deliveries_total{{repository="{name}",outcome="ignored"}}'
    assert receiver.metrics()[key] == before[key] + 1


def test_every_refusal_was_counted_and_nothing_was_accepted(receiver: Receiver) -> None:
    samples = receiver.metrics()
    for name in ("gh", "gl", "gls", "bb"):
        accepted = f'adp_webhook_deliveries_total{{repository="{name}",outcome="accepted"}}'
        assert samples[accepted] == 0
        assert samples[f'adp_webhook_syncs_total{{repository="{name}",result="ok"}}'] == 0


def test_no_refused_delivery_is_recorded(receiver: Receiver) -> None:
    # Only a verified push to the branch is recorded: nobody can burn a delivery id.
    assert len(DeliveryLog(receiver.state_dir / "deliveries.sqlite")) == 0


def test_a_repository_without_a_webhook_is_only_polled(tmp_path: Path) -> None:
    """secret None: no signature can be valid for it, so its endpoint is 404 and no sync; a
    request signed with an empty key (HMAC accepts one) is refused the same way."""
    only_polled = [HookTarget("quiet", "github", None, "main", poll_interval=3600)]
    with running_receiver(only_polled, tmp_path) as receiver:
        body = github_push()
        headers = github_headers(body)
        headers["X-Hub-Signature-256"] = "sha256=" + hmac.new(b"", body, hashlib.sha256).hexdigest()
        answer = receiver.post("quiet", body, headers)
        assert answer.status_code == 404, answer.text
        assert "no webhook is configured" in answer.text
        assert receiver.recorder.calls == []
