"""A real MCP client for the tests: ``adp mcp`` of the project's environment spawned over
stdio by the SDK's ``stdio_client`` and driven through its ``ClientSession``, from synchronous
tests (the session lives on an event loop in a portal thread). Every result is kept, so a
test can scan all that the server ever answered. ``credential_trap`` is a host a model chose:
it keeps every credential sent to it."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import mcp_types as types
from adp_test_servers.tools import project_tool
from anyio.from_thread import start_blocking_portal
from mcp.client.session import ClientSession, ElicitationFnT
from mcp.client.stdio import StdioServerParameters, stdio_client

CALL_TIMEOUT = 180.0


def server_env(**extra: str) -> dict[str, str]:
    """What the server process gets beyond the SDK's default (HOME, PATH, ...): the test run's
    PYTHONPATH (so that a worktree's code is the one served) and ``extra``."""
    env = {k: v for k, v in os.environ.items() if k == "PYTHONPATH"}
    return env | extra


def text_of(result: types.CallToolResult) -> str:
    return "\n".join(c.text for c in result.content if isinstance(c, types.TextContent))


class McpClient:
    """``adp mcp <args>`` and one initialized session with it, until ``close``."""

    def __init__(
        self,
        args: list[str],
        cwd: Path,
        log: Path,
        env: dict[str, str] | None = None,
        elicitation: ElicitationFnT | None = None,
    ) -> None:
        self.params = StdioServerParameters(
            command=project_tool("adp"), args=["mcp", *args], env=env or server_env(), cwd=cwd
        )
        self.log = log
        self.elicitation = elicitation
        self.results: list[types.CallToolResult] = []
        self._stack = ExitStack()

    @asynccontextmanager
    async def _session(self) -> AsyncIterator[ClientSession]:
        with open(self.log, "a", encoding="utf-8") as errlog:
            async with stdio_client(self.params, errlog=errlog) as (read, write):
                session = ClientSession(read, write, elicitation_callback=self.elicitation)
                async with session:
                    await session.initialize()
                    yield session

    def __enter__(self) -> McpClient:
        self.portal = self._stack.enter_context(start_blocking_portal())
        self.session = self._stack.enter_context(
            self.portal.wrap_async_context_manager(self._session())
        )
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def tools(self) -> list[types.Tool]:
        return self.portal.call(self.session.list_tools).tools

    def call(self, tool: str, **arguments: Any) -> types.CallToolResult:
        result = self.portal.call(
            lambda: self.session.call_tool(tool, arguments, read_timeout_seconds=CALL_TIMEOUT)
        )
        self.results.append(result)
        return result

    def ok(self, tool: str, **arguments: Any) -> dict[str, Any]:
        """The structured result of a call that must succeed (its JSON text says the same)."""
        result = self.call(tool, **arguments)
        assert not result.is_error, f"{tool}: {text_of(result)}"
        assert result.structured_content is not None, tool
        assert json.loads(text_of(result)) == result.structured_content
        return result.structured_content

    def error(self, tool: str, **arguments: Any) -> str:
        """The message of a call that must be a tool error (isError)."""
        result = self.call(tool, **arguments)
        assert result.is_error, f"{tool} succeeded: {result.structured_content}"
        return text_of(result)

    def everything_answered(self) -> str:
        """Every result so far, text and structured content, as one string to scan."""
        parts = []
        for result in self.results:
            parts.append(text_of(result))
            parts.append(json.dumps(result.structured_content))
        return "\n".join(parts)


def snapshot(*paths: Path) -> dict[str, bytes | None]:
    """The bytes of each file (None: absent), to show that a refused call changed nothing."""
    return {str(p): p.read_bytes() if p.exists() else None for p in paths}


@dataclass
class CredentialTrap:
    """An HTTP server on loopback standing for a host a model chose: it asks every request
    for Basic credentials (401, ``WWW-Authenticate``), as a git host does, so that a client
    holding any sends them, and keeps the ``Authorization`` header of every request."""

    port: int
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)

    def url(self, repo: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}/{repo}.git"

    @property
    def authorizations(self) -> list[str]:
        """Every Authorization header received (none may ever come)."""
        return [auth for _, _, auth in self.requests if auth is not None]


@contextmanager
def credential_trap() -> Iterator[CredentialTrap]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _challenge(self) -> None:
            trap.requests.append((self.command, self.path, self.headers.get("Authorization")))
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST = do_HEAD = _challenge

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    trap = CredentialTrap(int(server.server_address[1]))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield trap
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@dataclass
class User:
    """The person behind an eliciting client: answers the server's questions as the test
    says (accept, decline, cancel) and keeps every question."""

    answer: str = "decline"
    asked: list[str] = field(default_factory=list)

    async def __call__(self, context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        self.asked.append(params.message)
        assert params.requested_schema["properties"]["confirm"]["type"] == "boolean"
        if self.answer == "accept":
            return types.ElicitResult(action="accept", content={"confirm": True})
        return types.ElicitResult(action=self.answer)  # type: ignore[arg-type]
