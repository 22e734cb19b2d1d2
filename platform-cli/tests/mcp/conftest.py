"""The MCP server's tests: each module starts one `adp mcp` process (from the project's
environment) and drives it over stdio with the SDK's client (mcp_support), against file://
and HTTP git repositories and a local release store (the promoter's helpers, repo_support)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def module_root(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Path:
    """One folder for the module's server, its repositories, store and airflow-repos.yaml."""
    return tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1])
