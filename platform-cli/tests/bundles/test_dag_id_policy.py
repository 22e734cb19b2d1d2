"""The cluster policy of adp.bundles.policy with Airflow's own parser: a package's release may
define only ``<package>_*`` DAG ids, even when its CI wrote the store without ``adp dags
publish`` (issue 26: a store written only under ``<env>/pkg_a/`` must not change what another
package serves, and a DAG id of pkg_b defined by pkg_a would replace pkg_b's DAG).

Airflow loads the policy from platform-cli's ``airflow.policy`` entry point, in a fresh
interpreter as the dag-processor does; the DAG files are parsed with ``BundleDagBag`` over the
bundle path (``current``) of a real sync."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from adp.releases.local_store import LocalStore
from adp.sync import Syncer
from adp_test_helpers.dag_corpus import dag
from adp_test_helpers.sync_support import publish_files

# One DagBag per file, as the dag-processor parses (so no bag sees two files' DAGs at once).
PARSE = """
import json, os, sys
from pathlib import Path
from airflow.dag_processing.dagbag import BundleDagBag
root = Path(sys.argv[1])
dags, errors = [], {}
for folder, _, files in sorted(os.walk(root, followlinks=True)):
    for name in sorted(files):
        path = Path(folder) / name
        bag = BundleDagBag(dag_folder=str(path), bundle_path=root, safe_mode=False)
        dags += [[dag_id, path.relative_to(root).as_posix()] for dag_id in bag.dags]
        for value in bag.import_errors.values():
            errors[path.relative_to(root).as_posix()] = value.strip().splitlines()[-1]
print(json.dumps({"dags": sorted(dags), "errors": errors}))
"""


def parse(folder: Path, tmp_path: Path) -> dict[str, object]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")}
    env |= {
        "AIRFLOW_HOME": str(tmp_path / "airflow-home"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp_path / 'airflow.db'}",
    }
    answer = subprocess.run(
        [sys.executable, "-c", PARSE, str(folder)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=True,
    )
    return json.loads(answer.stdout.strip().splitlines()[-1])


def test_a_release_defines_only_its_own_packages_dag_ids(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    publish_files(store, "dev", "pkg_b", "v1", {"pkg_b_daily.py": dag("pkg_b_daily").encode()})
    # pkg_a's CI, writing the store directly: one DAG of its own, one named like pkg_b's
    publish_files(
        store,
        "dev",
        "pkg_a",
        "v1",
        {
            "pkg_a_daily.py": dag("pkg_a_daily").encode(),
            "hijack.py": dag("pkg_b_daily").encode(),
        },
    )
    Syncer(store, "dev", tmp_path / "sync").cycle()
    parsed = parse(tmp_path / "sync" / "current", tmp_path)
    assert parsed["dags"] == [
        ["pkg_a_daily", "pkg_a/pkg_a_daily.py"],
        ["pkg_b_daily", "pkg_b/pkg_b_daily.py"],
    ]
    errors = parsed["errors"]
    assert isinstance(errors, dict) and list(errors) == ["pkg_a/hijack.py"]
    assert (
        "DAG id 'pkg_b_daily' is defined in a release of package 'pkg_a'"
        in errors["pkg_a/hijack.py"]
    )


def test_dags_outside_a_sync_folder_are_not_touched(tmp_path: Path) -> None:
    """A datakit's dags/ folder, a git checkout under validation: any DAG id is parsed."""
    folder = tmp_path / "dags" / "releases" / "pkg_a" / ("0" * 64)
    folder.mkdir(parents=True)
    (folder / "other.py").write_text(dag("anything_goes"))
    parsed = parse(tmp_path / "dags", tmp_path)
    assert parsed == {
        "dags": [["anything_goes", f"releases/pkg_a/{'0' * 64}/other.py"]],
        "errors": {},
    }


def test_a_package_cannot_define_the_dag_ids_of_a_package_its_name_prefixes(
    tmp_path: Path,
) -> None:
    """Package names may hold '_': `sales` starts `sales_eu_daily` too. A DAG id belongs to the
    longest package name it starts with, so `sales` may not define `sales_eu`'s DAGs."""
    store = LocalStore(tmp_path / "store")
    publish_files(store, "dev", "sales_eu", "v1", {"d.py": dag("sales_eu_daily").encode()})
    publish_files(
        store,
        "dev",
        "sales",
        "v1",
        {"sales_daily.py": dag("sales_daily").encode(), "take.py": dag("sales_eu_daily").encode()},
    )
    Syncer(store, "dev", tmp_path / "sync").cycle()
    parsed = parse(tmp_path / "sync" / "current", tmp_path)
    assert parsed["dags"] == [
        ["sales_daily", "sales/sales_daily.py"],
        ["sales_eu_daily", "sales_eu/d.py"],
    ]
    errors = parsed["errors"]
    assert isinstance(errors, dict) and list(errors) == ["sales/take.py"], errors
    assert "may not define package 'sales_eu''s DAG ids" in errors["sales/take.py"]
