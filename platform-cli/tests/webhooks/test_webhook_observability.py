"""/healthz and /metrics report the counts; the logs never hold a secret or a signature."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from adp_test_helpers.webhook_support import (
    BITBUCKET_SECRET,
    GITHUB_SECRET,
    GITLAB_SECRET,
    GITLAB_SIGNING_TOKEN,
    SHA_1,
    Recorder,
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

SAMPLE = re.compile(r'^[a-z_]+(\{([a-z]+="[^"]*",?)+\})? [0-9.]+$')


def test_healthz_and_metrics_report_the_counts(tmp_path: Path) -> None:
    gh = github_push()
    with running_receiver(targets(), tmp_path, max_body=4096) as receiver:
        assert receiver.post("gh", gh, github_headers(gh, delivery="one")).status_code == 202
        receiver.recorder.wait_for(1)
        receiver.idle()
        assert receiver.post("gh", gh, github_headers(gh, delivery="one")).status_code == 200
        assert receiver.post("gh", gh, github_headers(gh, secret=b"x")).status_code == 401
        assert receiver.post("gh", gh, github_headers(gh, event="issues")).status_code == 200
        assert receiver.post("gh", b"{", github_headers(b"{")).status_code == 400
        assert receiver.post("gh", b"x" * 5000, github_headers(b"x" * 5000)).status_code == 413
        assert receiver.post("nope", gh, github_headers(gh)).status_code == 404

        health = receiver.health()
        assert health.status_code == 200
        body = health.json()
        assert body["status"] == "ok" and body["queue_depth"] == 0
        assert body["workers_alive"] and body["poller_alive"]
        gh_state = body["repositories"]["gh"]
        assert gh_state["deliveries"] == {
            "accepted": 1,
            "duplicate": 1,
            "bad_signature": 1,
            "ignored": 1,
            "malformed": 1,
            "too_large": 1,
        }
        assert gh_state["syncs_ok"] == 1 and gh_state["last_result"] == "ok"
        assert gh_state["last_reason"] == f"webhook github one {SHA_1}"
        assert gh_state["last_sync_start"] <= gh_state["last_sync_end"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", gh_state["last_sync_end"])
        assert body["repositories"]["bb"]["last_sync_start"] is None

        answer = receiver.client.get(f"{receiver.url}/metrics")
        assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
        for line in answer.text.splitlines():
            assert line.startswith(("# HELP ", "# TYPE ")) or SAMPLE.match(line), line
        samples = receiver.metrics()
        for outcome in ("accepted", "duplicate", "bad_signature", "ignored", "malformed"):
            key = f'adp_webhook_deliveries_total{{repository="gh",outcome="{outcome}"}}'
            assert samples[key] == 1, key
        assert samples['adp_webhook_deliveries_total{repository="gh",outcome="too_large"}'] == 1
        assert samples['adp_webhook_deliveries_total{repository="",outcome="unknown"}'] == 1
        assert samples['adp_webhook_deliveries_total{repository="bb",outcome="accepted"}'] == 0
        assert samples['adp_webhook_syncs_total{repository="gh",result="ok"}'] == 1
        assert samples['adp_webhook_syncs_total{repository="gh",result="error"}'] == 0
        assert samples['adp_webhook_sync_duration_seconds_count{repository="gh"}'] == 1
        assert samples['adp_webhook_sync_duration_seconds_sum{repository="gh"}'] >= 0
        assert samples['adp_webhook_queue_depth{repository="gh"}'] == 0
        assert samples["adp_webhook_workers_up"] == 1
        assert "nope" not in answer.text  # a name anyone can choose is no label value


def test_no_secret_or_signature_is_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    def leak(name: str, reason: str) -> None:
        raise RuntimeError(f"clone failed for https://x:{GITHUB_SECRET.decode()}@example.com")

    recorder = Recorder(behave={"gh": leak})
    gh, gl, bb = github_push(), gitlab_push(), bitbucket_push()
    sent = [
        ("gh", gh, github_headers(gh)),
        ("gh", gh, github_headers(gh, secret=b"wrong")),
        ("gl", gl, gitlab_token_headers()),
        ("gl", gl, gitlab_token_headers(token=b"wrong-token")),
        ("gls", gl, gitlab_signed_headers(gl)),
        ("gls", gl + b" ", gitlab_signed_headers(gl)),
        ("bb", bb, bitbucket_headers(bb)),
        ("bb", bb, bitbucket_headers(bb, secret=b"wrong")),
    ]
    with running_receiver(targets(), tmp_path, recorder) as receiver:
        for name, body, headers in sent:
            receiver.post(name, body, headers)
        recorder.wait_for(4)
        health = receiver.idle()
    assert health["repositories"]["gh"]["last_error"] == (
        "RuntimeError: clone failed for https://x:<secret>@example.com"
    )
    text = caplog.text + str(health)
    assert "clone failed" in caplog.text and "refused a delivery" in caplog.text
    for secret in (GITHUB_SECRET, GITLAB_SECRET, GITLAB_SIGNING_TOKEN, BITBUCKET_SECRET):
        assert secret.decode() not in text
    for _, _, headers in sent:
        for key in (
            "X-Hub-Signature-256",
            "X-Hub-Signature",
            "webhook-signature",
            "X-Gitlab-Token",
        ):
            if key in headers:
                value = headers[key].removeprefix("sha256=").removeprefix("v1,")
                assert value and value not in text
