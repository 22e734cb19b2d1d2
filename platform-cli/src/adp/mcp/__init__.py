"""``adp mcp``: the platform's DAG-source operations as tools of an MCP server, for chat
assistants (the official MCP Python SDK, stdio transport; the ``mcp`` extra).

Contract: every tool is a thin front of the libraries (``adp.sources`` reads, ``adp.repos``
adds, syncs, approves, rolls back and removes, ``adp.validation`` validates), so a chat does
exactly what ``adp repos`` and ``adp dags validate`` do. A tool's result is a pydantic model
(structured content) holding no credential: URLs are redacted, a token or secret is named by
its variable or file and never read into a result, and a credential given as an argument is
refused without being echoed. Bad input is a tool error (``isError``) whose message starts
with the argument and says the fix, and changes nothing (``airflow-repos.yaml`` byte for byte).
The destructive tools (``remove_repository``, ``approve``, ``rollback``) change nothing unless
called with ``confirm=true`` (or confirmed by the user through the client, when it offers
elicitation): they return what they would do and how to confirm. ``operations`` holds the
work, free of the SDK; ``server`` registers the tools. docs/chat-assistants.md is the guide.
"""
