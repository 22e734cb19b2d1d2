"""``adp.operations.releases`` on a real local release store: publish, roll back and list return
what they did (``changed``, the versions, the re-parse asked for), and a bad argument is a
``UsageError`` naming it that writes nothing."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from adp.errors import UsageError
from adp.operations import Caller, NotFound, Refused
from adp.operations import releases as ops
from adp.releases.local_store import LocalStore
from adp.releases.pointer import read_pointer
from adp.repos.config import load_config
from adp_test_helpers.repo_support import dag_text, write_config


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no pyproject.toml of the repository's
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "sales_daily.py").write_text(dag_text("sales_daily"))
    return tmp_path


def closed_port_url() -> str:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{free.getsockname()[1]}"


def test_publish_rollback_and_list_say_what_changed(work: Path) -> None:
    store = str(work / "store")
    dry = ops.publish_release(store, "dev", "sales", work / "dags", "v1", dry_run=True)
    assert dry.dry_run and dry.keys and dry.previous is None and not (work / "store").exists()
    one = ops.publish_release(store, "dev", "sales", work / "dags", "v1")
    assert (one.version, one.previous, one.files, one.dags, one.reparse) == ("v1", None, 1, 1, None)
    (work / "dags" / "sales_daily.py").write_text(dag_text("sales_daily", "v2"))
    # a re-parse that cannot be asked for is reported, never raised: the refresh is the fallback
    caller = Caller(actor="tester", airflow_url=closed_port_url())
    two = ops.publish_release(store, "dev", "sales", work / "dags", "v2", caller=caller)
    assert two.previous == "v1" and two.reparse is not None
    assert (two.reparse.outcome, two.reparse.bundle) == ("failed", "adp-dev")
    back = ops.rollback_release(store, "dev", "sales", "v1", caller=Caller(actor="tester"))
    assert (back.changed, back.previous, back.version, back.reparse) == (True, "v2", "v1", None)
    again = ops.rollback_release(store, "dev", "sales", "v1")
    assert (again.changed, again.version) == (False, "v1")
    opened, listed = ops.releases(store, "dev")
    assert opened.url.endswith("store")
    assert [(p.package, [r.version for r in p.releases]) for p in listed] == [
        ("sales", ["v1", "v2"])
    ]
    assert read_pointer(LocalStore(work / "store"), "dev", "sales").version == "v1"


@pytest.mark.parametrize(
    ("arguments", "loc"),
    [
        ({"bucket": "acme-dag-releases"}, "bucket"),
        ({"bucket": "s3://x"}, "bucket"),
        ({"endpoint_url": "http://minio:9000"}, "endpoint_url"),
        ({"env": "Prod"}, "env"),
        ({"package": "Sales"}, "package"),
        ({"version": "../v"}, "version"),
        ({"config": Path("missing.toml")}, "config"),
    ],
)
def test_a_bad_argument_is_named_and_nothing_is_written(
    work: Path, arguments: dict, loc: str
) -> None:
    given = {"bucket": str(work / "store"), "env": "dev", "package": "sales",
             "path": work / "dags", **arguments}  # fmt: skip
    with pytest.raises(UsageError) as bad:
        ops.publish_release(**given)
    assert bad.value.loc == (loc,), bad.value
    assert "--" not in bad.value.message  # the argument is data: no front end's flag in it
    assert not (work / "store").exists() and not (work / "acme-dag-releases").exists()


def test_a_failing_folder_is_refused_with_its_findings(work: Path) -> None:
    (work / "dags" / "other.py").write_text(dag_text("billing_daily"))
    with pytest.raises(ops.PublishRefused) as refused:
        ops.publish_release(str(work / "store"), "dev", "sales", work / "dags", "v1")
    assert refused.value.exit_code == 1 and refused.value.loc == ("path",)
    assert "billing_daily" in refused.value.findings_text
    assert not (work / "store" / "dev" / "sales" / "current.json").exists()


def test_a_package_rollback_checks_ownership_and_versions(work: Path) -> None:
    store = str(work / "store")
    ops.publish_release(store, "dev", "sales", work / "dags", "v1")
    config = load_config(
        write_config(work / "airflow-repos.yaml", work / "store",
                     [{"name": "workflows", "url": "https://h/r.git", "namespace": "sales"}])
    )  # fmt: skip
    with pytest.raises(Refused) as owned:
        ops.rollback_package(store, None, "dev", "sales", "v1", config)
    assert owned.value.loc == ("name",) and "workflows" in owned.value.message
    with pytest.raises(UsageError) as unknown:
        ops.rollback_package(store, None, "dev", "sales", "v9")
    assert unknown.value.loc == ("version",) and "v1" in unknown.value.message
    with pytest.raises(NotFound) as missing:
        ops.rollback_package(store, None, "dev", "billing", "v1")
    assert missing.value.loc == ("name",)
    same = ops.rollback_package(store, None, "dev", "sales", "v1")
    assert (same.changed, same.previous, same.dag_ids) == (False, "v1", ["sales_daily"])
    with pytest.raises(UsageError) as store_word:
        ops.rollback_package("acme-dag-releases", None, "dev", "sales", "v1")
    assert store_word.value.loc == ("release_store",)
