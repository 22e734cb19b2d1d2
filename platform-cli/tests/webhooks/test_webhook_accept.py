"""A correctly signed push of each provider to the configured branch causes exactly one sync,
with the reason "webhook <provider> <delivery id> <sha>"; GitHub's ping is answered."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from adp_test_helpers.webhook_support import (
    SHA_1,
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


def deliveries(name: str) -> tuple[bytes, dict[str, str], str, str]:
    """(body, headers, provider, delivery id) of a good push to main for target ``name``."""
    if name == "gh":
        body = github_push()
        headers = github_headers(body, delivery="72d3162e-cc78-11e3-81ab-4c9367dc0958")
        return body, headers, "github", "72d3162e-cc78-11e3-81ab-4c9367dc0958"
    if name == "gl":
        body = gitlab_push()
        headers = gitlab_token_headers(delivery="0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d")
        return body, headers, "gitlab", "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
    if name == "gls":
        body = gitlab_push()
        headers = gitlab_signed_headers(body, delivery="5b8e1c2a-7d3f-4e9a-b1c6-2f4a8d0e6b13")
        return body, headers, "gitlab", "5b8e1c2a-7d3f-4e9a-b1c6-2f4a8d0e6b13"
    body = bitbucket_push()
    headers = bitbucket_headers(body, delivery="d6c4e0a2-19b7-4f35-8e21-3a5c7e9b1d02")
    return body, headers, "bitbucket", "d6c4e0a2-19b7-4f35-8e21-3a5c7e9b1d02"


@pytest.mark.parametrize("name", ["gh", "gl", "gls", "bb"])
def test_a_signed_push_to_the_branch_causes_exactly_one_sync(name: str, tmp_path: Path) -> None:
    body, headers, provider, delivery = deliveries(name)
    with running_receiver(targets(), tmp_path) as receiver:
        answer = receiver.post(name, body, headers)
        assert answer.status_code == 202, answer.text
        assert answer.json() == {
            "status": "accepted",
            "delivery_id": delivery,
            "sha": SHA_1,
            "sync": "queued",
        }
        assert receiver.recorder.wait_for(1) == [(name, f"webhook {provider} {delivery} {SHA_1}")]
        state = receiver.idle()["repositories"][name]
        assert state["syncs_ok"] == 1 and state["last_result"] == "ok"
    assert len(receiver.recorder.calls) == 1


def test_gitlab_falls_back_to_the_event_uuid_and_to_checkout_sha(tmp_path: Path) -> None:
    payload = json.loads(gitlab_push())
    payload["after"] = None  # older payloads: checkout_sha names the new head
    body = json.dumps(payload).encode()
    headers = gitlab_token_headers()
    del headers["Idempotency-Key"]
    with running_receiver(targets(), tmp_path) as receiver:
        assert receiver.post("gl", body, headers).status_code == 202
        event_uuid = headers["X-Gitlab-Event-UUID"]
        assert receiver.recorder.wait_for(1) == [("gl", f"webhook gitlab {event_uuid} {SHA_1}")]


def test_a_bitbucket_push_of_several_changes_acts_on_the_branch(tmp_path: Path) -> None:
    payload = json.loads(bitbucket_push())
    other = json.loads(bitbucket_push(branch="feature", after="e" * 40))["push"]["changes"][0]
    tag = {"new": {"type": "tag", "name": "v1", "target": {"hash": "f" * 40}}, "old": None}
    payload["push"]["changes"] = [other, tag, *payload["push"]["changes"]]
    body = json.dumps(payload).encode()
    with running_receiver(targets(), tmp_path) as receiver:
        assert receiver.post("bb", body, bitbucket_headers(body)).status_code == 202
        ((name, reason),) = receiver.recorder.wait_for(1)
        assert name == "bb" and reason.endswith(f" {SHA_1}")


def test_github_ping_is_answered_and_does_nothing(tmp_path: Path) -> None:
    body = b'{"zen": "Keep it logically awesome.", "hook_id": 4242}'
    with running_receiver(targets(), tmp_path) as receiver:
        answer = receiver.post("gh", body, github_headers(body, event="ping"))
        assert answer.status_code == 200 and answer.json()["status"] == "ignored"
        assert receiver.idle()["repositories"]["gh"]["syncs_ok"] == 0
    assert receiver.recorder.calls == []
