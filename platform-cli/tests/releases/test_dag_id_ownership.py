"""Which package a DAG id belongs to, when package names prefix each other (issue 26).

Package names may hold '_', so `sales` and `sales_eu` both start `sales_eu_daily`. The id
belongs to the longest package name it starts with (`names.owner`), and the publisher refuses
both ways of taking another package's id: defining it, and arriving with a name that turns ids
another package already runs into yours.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from adp.releases import names
from adp.releases.local_store import LocalStore
from adp.releases.pointer import ReleaseError
from adp.releases.publish import check_ownership
from adp_test_helpers.sync_support import publish_files
from hypothesis import given, settings
from hypothesis import strategies as st

PACKAGES = st.sampled_from(["a", "a_b", "a_b_c", "ab", "b", "b_a"])
SUFFIXES = st.sampled_from(["x", "b", "b_x", "b_c_x", "c_x", "a_x"])


def test_the_longest_package_name_owns_an_id() -> None:
    assert names.owner("sales_eu_daily", ["sales", "sales_eu"]) == "sales_eu"
    assert names.owner("sales_daily", ["sales", "sales_eu"]) == "sales"
    assert names.owner("salesx_daily", ["sales"]) is None


def test_the_issues_reviewers_case_is_refused_both_ways(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    publish_files(store, "dev", "sales_eu", "v1", {"d.py": b"x"}, dags=["sales_eu_daily"])
    with pytest.raises(ReleaseError, match="belongs to package 'sales_eu'"):
        check_ownership(store, "dev", "sales", ["sales_daily", "sales_eu_daily"])
    other = LocalStore(tmp_path / "other")
    publish_files(other, "dev", "sales", "v1", {"d.py": b"x"}, dags=["sales_eu_daily"])
    with pytest.raises(ReleaseError, match=r"already runs DAG id.*sales_eu_daily"):
        check_ownership(other, "dev", "sales_eu", ["sales_eu_weekly"])


@settings(max_examples=150, deadline=None)
@given(
    attempts=st.lists(
        st.tuples(PACKAGES, st.lists(st.tuples(PACKAGES, SUFFIXES), min_size=1, max_size=3)),
        min_size=1,
        max_size=6,
    )
)
def test_no_dag_id_is_ever_run_by_two_packages_or_by_one_it_does_not_belong_to(
    attempts: list[tuple[str, list[tuple[str, str]]]],
) -> None:
    """Any sequence of publications, each allowed only if check_ownership passes: every DAG id
    the environment runs is run by exactly one package, the one it belongs to."""
    with tempfile.TemporaryDirectory() as folder:
        store = LocalStore(Path(folder) / "store")
        running: dict[str, list[str]] = {}
        for number, (package, ids) in enumerate(attempts):
            dag_ids = sorted({f"{prefix}_{suffix}" for prefix, suffix in ids})
            try:
                check_ownership(store, "dev", package, dag_ids)
            except ReleaseError:
                continue
            publish_files(store, "dev", package, f"v{number}", {"d.py": b"x"}, dags=dag_ids)
            running[package] = dag_ids
        everyone = [dag_id for ids in running.values() for dag_id in ids]
        assert len(everyone) == len(set(everyone)), running
        for package, ids in running.items():
            for dag_id in ids:
                assert names.owner(dag_id, running) == package, (dag_id, running)
