"""Stock ``GitDagBundle`` entries tracking the promoted branches, for teams that prefer them.

The platform's own path (promotion publishes a release; one environment bundle) needs no
Airflow restart when a repository is added. These entries do: Airflow 3.3 reads its bundle
list once per process, so each added or removed entry needs every Airflow process restarted.
The entries name a connection per repository whose host is the platform's mirror (where
Airflow can reach it), so Airflow only ever sees promoted commits and no credential of the
origin. Nothing secret is printed.
"""

from __future__ import annotations

import json
from typing import Any

from adp.repos.config import ReposConfig

CLASSPATH = "airflow.providers.git.bundles.git.GitDagBundle"
RESTART_NOTE = (
    "GitDagBundle entries: Airflow 3.3 reads dag_bundle_config_list once per process, so "
    "adding or removing a repository here needs a restart of every Airflow process (the "
    "platform's own bundle, adp dags bundle-config, needs none)."
)


def conn_id(name: str) -> str:
    return "adp_git_" + name.replace("-", "_")


def git_bundle_entries(config: ReposConfig) -> list[dict[str, Any]]:
    """One entry per repository, tracking its promoted branch through its connection."""
    entries = []
    for repo in config.repositories:
        kwargs: dict[str, object] = {
            "git_conn_id": conn_id(repo.name),
            "tracking_ref": repo.promoted_branch,
            "refresh_interval": int(repo.sync_interval),
        }
        if repo.path:
            kwargs["subdir"] = repo.path.strip("/")
        entries.append({"name": f"git-{repo.name}", "classpath": CLASSPATH, "kwargs": kwargs})
    return entries


def connection_env(config: ReposConfig, mirror_url: str) -> dict[str, str]:
    """``AIRFLOW_CONN_<ID>`` values: a git connection to each repository's mirror;
    ``mirror_url`` is where Airflow reaches the mirrors, with ``{name}`` for the repository
    (e.g. ``file:///srv/adp-mirrors/{name}.git``)."""
    if "{name}" not in mirror_url:
        raise ValueError(f"--mirror-url {mirror_url!r}: include {{name}} for the repository")
    try:
        mirror_url.format(name="x")
    except (KeyError, IndexError, ValueError):
        raise ValueError(
            f"--mirror-url {mirror_url!r}: only {{name}} may be written in braces"
        ) from None
    return {
        f"AIRFLOW_CONN_{conn_id(r.name).upper()}": json.dumps(
            {"conn_type": "git", "host": mirror_url.format(name=r.name)}, separators=(",", ":")
        )
        for r in config.repositories
    }
