"""Git repositories as DAG sources: ``airflow-repos.yaml`` and validate-then-promote.

Contract: a commit of a repository reaches Airflow only after it passed validation and the
security scan (the validation library, as ``adp dags publish`` runs it). Promotion records it
on ``promoted/<branch>`` of a platform-owned mirror and publishes it as release ``<commit>`` of
the repository's namespace in the release store, so git repositories reach Airflow through the
same sync agent and environment bundle as published packages: no Airflow restart to add or
remove one, every run pinned, rollback a pointer move. Whatever fails (a repository that cannot
be reached, rewritten history, findings, a store error) leaves the promoted commit, and what
Airflow runs, as it was. No credential is written to any file, argument or message. Pure
library: no typer.
"""

from adp.repos.config import ReposConfig, ReposConfigError, Repository, load_config, parse
from adp.repos.promote import Promoter, PromotionError, SyncResult

__all__ = [
    "Promoter",
    "PromotionError",
    "ReposConfig",
    "ReposConfigError",
    "Repository",
    "SyncResult",
    "load_config",
    "parse",
]
