"""A client that offers elicitation is asked to confirm a destructive tool called without
confirm=true: the user's decline (or cancel) changes nothing, their acceptance goes ahead.
(Without elicitation, test_mcp_tools shows the same tools answering with what they would do.)"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mcp_types as types
import pytest
from adp.releases.local_store import LocalStore
from adp.releases.pointer import read_pointer
from adp_test_helpers.mcp_support import McpClient, snapshot
from adp_test_helpers.repo_support import Upstream, dag_text, write_config


@dataclass
class User:
    """Answers the server's confirmation requests as the test says, and keeps them."""

    answer: str = "decline"
    asked: list[str] = field(default_factory=list)

    async def __call__(self, context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        self.asked.append(params.message)
        assert params.requested_schema["properties"]["confirm"]["type"] == "boolean"
        if self.answer == "accept":
            return types.ElicitResult(action="accept", content={"confirm": True})
        return types.ElicitResult(action=self.answer)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def setup(module_root: Path) -> Iterator[tuple[McpClient, User, Path, str]]:
    upstream = Upstream(module_root, "hooked")
    sha = upstream.commit({"hooked_daily.py": dag_text("hooked_daily")}, "first")
    entry = {"name": "hooked", "url": upstream.url, "namespace": "hooked"}
    config = write_config(module_root / "airflow-repos.yaml", module_root / "store", [entry])
    user = User()
    args = ["--config", str(config)]
    with McpClient(args, cwd=module_root, log=module_root / "server.log", elicitation=user) as c:
        assert c.ok("sync", name="hooked")["promoted"] == sha
        yield c, user, config, sha


def test_the_user_is_asked_and_only_their_yes_changes_anything(setup) -> None:
    client, user, config, sha = setup
    store = LocalStore(config.parent / "store")
    before = snapshot(config)
    for answer in ("decline", "cancel"):
        user.answer = answer
        kept = client.ok("remove_repository", name="hooked")
        assert (kept["confirmed"], kept["changed"]) == (False, False), kept
        assert snapshot(config) == before and read_pointer(store, "dev", "hooked").version == sha
    assert len(user.asked) == 2 and "remove hooked" in user.asked[0], user.asked
    # confirm=true from the model does not stand for the user's yes where the user can be asked.
    user.answer = "decline"
    kept = client.ok("remove_repository", name="hooked", confirm=True)
    assert (kept["confirmed"], kept["changed"]) == (False, False), kept
    assert snapshot(config) == before and len(user.asked) == 3
    user.answer = "accept"
    done = client.ok("remove_repository", name="hooked")
    assert (done["confirmed"], done["changed"], done["previous_release"]) == (True, True, sha)
    assert read_pointer(store, "dev", "hooked").version is None
    assert "hooked" not in config.read_text()
