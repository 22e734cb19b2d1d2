"""An Airflow cluster policy: a package's release defines only ``<package>_*`` DAG ids.

``adp dags publish`` refuses other DAG ids before it writes, but whoever may write one
package's prefix of the store (its CI) can write files without ``adp dags publish``. A DAG id of
another package defined there would replace that package's DAG in Airflow (the last file parsed
wins), so the rule is also enforced where Airflow parses: for every DAG whose file lies in a
release folder of the sync agent's layout (``<sync>/releases/<package>/<manifest sha256>/``,
reached through ``current`` or a pinned snapshot), ``dag_policy`` raises
``AirflowClusterPolicyViolation`` unless the DAG id starts with ``<package>_``; Airflow records
that as the file's import error and keeps the DAG out. DAGs from anywhere else are untouched.

Registered through the ``airflow.policy`` entry point of platform-cli (Airflow loads it in
every process, so this module imports only Airflow and the standard library).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from airflow.exceptions import AirflowClusterPolicyViolation
from airflow.policies import hookimpl

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_PACKAGE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
LAYOUT_FILE = "layout.json"  # adp.sync.layout.LAYOUT_FILE


_SYNC_DIRS: set[str] = set()  # folders seen to be sync folders (a sync folder stays one)


def _is_sync_dir(folder: str) -> bool:
    if folder in _SYNC_DIRS:
        return True
    try:
        with open(os.path.join(folder, LAYOUT_FILE), "rb") as handle:
            found = json.load(handle).get("format") == "adp-sync"
    except (OSError, ValueError, AttributeError):
        return False
    if found:
        _SYNC_DIRS.add(folder)
    return found


def package_of(fileloc: str) -> str | None:
    """The package whose release holds ``fileloc`` (links resolved), or None when the file is
    not in a release folder of a sync folder."""
    path = Path(os.path.realpath(fileloc))
    for folder in path.parents:
        package, releases = folder.parent, folder.parent.parent
        if (
            _SHA256.fullmatch(folder.name)
            and _PACKAGE.fullmatch(package.name)
            and releases.name == "releases"
            and _is_sync_dir(str(releases.parent))
        ):
            return package.name
    return None


def _owner(dag_id: str, packages: list[str]) -> str | None:
    """adp.releases.names.owner: the longest package name the DAG id starts with, then '_'."""
    found = [p for p in packages if dag_id.startswith(f"{p}_")]
    return max(found, key=len) if found else None


def _packages(fileloc: str) -> list[str]:
    """The packages with a release in the sync folder holding ``fileloc``."""
    releases = next(
        (p for p in Path(os.path.realpath(fileloc)).parents if p.name == "releases"), None
    )
    if releases is None:
        return []
    try:
        return [p for p in os.listdir(releases) if _PACKAGE.fullmatch(p)]
    except OSError:
        return []


@hookimpl
def dag_policy(dag: Any) -> None:
    """Refuse a DAG of a platform release whose id does not belong to its package: it must
    start with ``<package>_``, and with no longer package name of the environment (``sales``
    may not define ``sales_eu_daily`` where package ``sales_eu`` exists)."""
    fileloc, dag_id = str(dag.fileloc), str(dag.dag_id)
    package = package_of(fileloc)
    if package is None:
        return
    belongs = _owner(dag_id, [package, *_packages(fileloc)])
    if belongs != package:
        why = (
            f"may define only DAG ids starting with {package + '_'!r}"
            if belongs is None
            else f"may not define package {belongs!r}'s DAG ids (starting with {belongs + '_'!r})"
        )
        raise AirflowClusterPolicyViolation(
            f"DAG id {dag_id!r} is defined in a release of package {package!r}, which {why}: "
            "rename the DAG (adp dags publish refuses it too); it is not loaded"
        )
