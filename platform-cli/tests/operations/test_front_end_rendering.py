"""Each front end renders an operation's error from its ``loc`` (data), in its own words: the
MCP server as ``argument: message``, the UI's page as ``field: message`` with the status of its
kind; no front end parses a message's text."""

from __future__ import annotations

from adp.errors import NextStep, Problem, UsageError
from adp.mcp.operations import ToolInputError, chat_text
from adp.operations import NotFound, Refused
from adp.repos.config import ReposConfigError
from adp.ui.actions import ActionRefused, detail, http_status


def test_the_mcp_server_names_the_argument_and_the_tools() -> None:
    error = UsageError(problems=[Problem(message="bad", loc=("namespace",)),
                                 Problem(message="worse", loc=("sync_interval",))])  # fmt: skip
    assert chat_text(error.problems) == "namespace: bad; also sync_interval: worse"
    step = NextStep(action="status", repository="x")
    refused = Refused(problems=[Problem(message="x: not waiting", loc=("sha",), next_step=step)])
    assert chat_text(refused.problems) == "sha: x: not waiting (source_status x)"
    assert str(ToolInputError("bucket", "no such store")) == "bucket: no such store"
    in_file = ReposConfigError(
        [Problem(file="f.yaml", line=3, loc=("release_store",), message="m")]
    )
    assert chat_text(in_file.problems) == "f.yaml:3: release_store: m"


def test_the_page_names_the_field_with_the_status_of_its_kind() -> None:
    cases = [
        (NotFound("no repository named 'x'", loc=("name",)), 404, "name: no repository named 'x'"),
        (UsageError("give the full commit id", loc=("sha",)), 422, "sha: give the full commit id"),
        (UsageError("cannot open", loc=("release_store",)), 409, "release_store: cannot open"),
        (Refused("not waiting", loc=("sha",)), 409, "sha: not waiting"),
        (ActionRefused(403, "viewer may not change x"), 403, "viewer may not change x"),
        (ActionRefused(403, "send it", loc=("X-Requested-By",)), 403, "X-Requested-By: send it"),
    ]
    for error, status, text in cases:
        assert (http_status(error), detail(error)) == (status, text)
