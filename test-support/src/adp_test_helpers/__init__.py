"""Helpers shared by the platform's tests and benchmarks, imported by name as a package (never
through a ``sys.path`` edit): ``dag_corpus`` (DAG files for the validation tests),
``release_corpus`` (folders to publish and a bucket per test), ``sync_support`` (releases
written straight into a store, and reading a synced folder back), ``repo_support`` (git
repositories and ``airflow-repos.yaml`` files for the promoter), ``webhook_support`` (the
webhook receiver on a free port, signed deliveries), ``mcp_support`` (a client of
``adp mcp`` over stdio) and ``golden`` (``ADP_UPDATE_GOLDEN``, refused under CI).

Invariant: test code only; nothing under ``platform-cli/src`` imports it.
"""
