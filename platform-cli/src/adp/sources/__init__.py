"""Every DAG source of an environment, as typed data: the one read model behind
``adp repos status``, the MCP server (``adp mcp``) and the Airflow UI page.

Contract: ``list_sources(config, store, env)`` and ``source_status(name, ...)`` read only (the
release store's keys, manifests and pointers, ``airflow-repos.yaml`` and the promoter's state
and audit) and return pydantic models: each package of the release store (current version,
published at/by, git sha, DAG ids, release count) and each git repository (URL redacted,
branch, promoted commit, the release Airflow runs, commits awaiting approval or refused, last
sync time, age and outcome, findings with rule id, file:line and message). A store that cannot
be read is reported in the result, never raised: the repositories' own state still shows. No
credential is read, only the name of the variable or file holding it. ``UnknownSource`` names
the sources that exist. Pure library: no typer, no rich.
"""

from adp.sources.collect import (
    UnknownSource,
    age_text,
    list_sources,
    package_source,
    repository_sources,
    source_status,
)
from adp.sources.models import (
    AuditInfo,
    CommitInfo,
    PackageSource,
    ReleaseInfo,
    RepositorySource,
    SourceFinding,
    SourcesReport,
    WebhookInfo,
)

__all__ = [
    "AuditInfo",
    "CommitInfo",
    "PackageSource",
    "ReleaseInfo",
    "RepositorySource",
    "SourceFinding",
    "SourcesReport",
    "UnknownSource",
    "WebhookInfo",
    "age_text",
    "list_sources",
    "package_source",
    "repository_sources",
    "source_status",
]
