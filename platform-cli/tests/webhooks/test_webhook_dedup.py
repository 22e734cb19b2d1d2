"""A delivery id acts once: a redelivery (same id) is answered "duplicate" without a second
sync, also after a restart with the same state_dir; ids are recorded only once the signature
verified; old ids expire."""

from __future__ import annotations

from pathlib import Path

from adp.webhooks.dedup import DeliveryLog
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
    sha,
    targets,
)


def test_a_redelivery_is_a_duplicate_for_every_provider(tmp_path: Path) -> None:
    gh, gl, bb = github_push(), gitlab_push(), bitbucket_push()
    first = {
        "gh": (gh, github_headers(gh, delivery="gh-1")),
        "gl": (gl, gitlab_token_headers(delivery="gl-1")),
        "gls": (gl, gitlab_signed_headers(gl, delivery="gls-1")),
        "bb": (bb, bitbucket_headers(bb, delivery="bb-1", attempt=1)),
    }
    again = {
        "gh": (gh, github_headers(gh, delivery="gh-1")),
        "gl": (gl, gitlab_token_headers(delivery="gl-1")),  # a new X-Gitlab-Event-UUID
        "gls": (gl, gitlab_signed_headers(gl, delivery="gls-1")),
        "bb": (bb, bitbucket_headers(bb, delivery="bb-1", attempt=2)),  # retried: attempt 2
    }
    with running_receiver(targets(), tmp_path) as receiver:
        for name, (body, headers) in first.items():
            assert receiver.post(name, body, headers).status_code == 202
        receiver.recorder.wait_for(4)
        receiver.idle()
        for name, (body, headers) in again.items():
            answer = receiver.post(name, body, headers)
            assert answer.status_code == 200, answer.text
            assert answer.json()["status"] == "duplicate"
        receiver.idle()
        assert sorted(name for name, _ in receiver.recorder.calls) == ["bb", "gh", "gl", "gls"]
        samples = receiver.metrics()
        for name in first:
            key = f'adp_webhook_deliveries_total{{repository="{name}",outcome="duplicate"}}'
            assert samples[key] == 1


def test_a_delivery_seen_before_a_restart_is_still_a_duplicate(tmp_path: Path) -> None:
    body = github_push()
    with running_receiver(targets(), tmp_path) as receiver:
        assert receiver.post("gh", body, github_headers(body, delivery="d-1")).status_code == 202
        receiver.recorder.wait_for(1)
    with running_receiver(targets(), tmp_path) as receiver:
        answer = receiver.post("gh", body, github_headers(body, delivery="d-1"))
        assert answer.status_code == 200 and answer.json()["status"] == "duplicate"
        answer = receiver.post("gh", body, github_headers(body, delivery="d-2"))
        assert answer.status_code == 202
        assert receiver.recorder.wait_for(1) == [("gh", f"webhook github d-2 {SHA_1}")]


def test_a_bad_signature_does_not_burn_the_delivery_id(tmp_path: Path) -> None:
    body = github_push()
    forged = github_headers(body, secret=b"attacker", delivery="future-id")
    with running_receiver(targets(), tmp_path) as receiver:
        assert receiver.post("gh", body, forged).status_code == 401
        answer = receiver.post("gh", body, github_headers(body, delivery="future-id"))
        assert answer.status_code == 202
        assert receiver.recorder.wait_for(1) == [("gh", f"webhook github future-id {SHA_1}")]


def test_the_same_id_for_two_repositories_is_two_deliveries(tmp_path: Path) -> None:
    gh, bb = github_push(), bitbucket_push()
    with running_receiver(targets(), tmp_path) as receiver:
        assert receiver.post("gh", gh, github_headers(gh, delivery="same")).status_code == 202
        assert receiver.post("bb", bb, bitbucket_headers(bb, delivery="same")).status_code == 202
        assert len(receiver.recorder.wait_for(2)) == 2


def test_old_ids_expire_and_at_most_keep_last_are_kept(tmp_path: Path) -> None:
    log = DeliveryLog(tmp_path / "d.sqlite", keep_seconds=100, keep_last=50)
    assert log.record("r", "old", now=1000.0)
    assert not log.record("r", "old", now=1001.0)
    log.prune(now=1200.0)  # "old" is 200 s old
    assert log.record("r", "old", now=1200.0)
    for n in range(120):
        log.record("r", sha(n), now=1300.0 + n)
    log.prune(now=1420.0)
    assert len(log) == 50
    assert log.record("r", sha(0), now=1500.0)  # dropped: new again
    assert not log.record("r", sha(119), now=1500.0)  # among the last 50: still known
