"""``adp.operations.repos`` over a real git repository (file://), a real airflow-repos.yaml and a
real local release store: each action returns what it did as data (``ok``, ``changed``, the
outcome), and every refusal names the operation's argument in ``loc`` and changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from adp.errors import UsageError
from adp.operations import Caller, NotFound, Refused
from adp.operations import repos as ops
from adp.operations.repos import NewRepository
from adp.releases.local_store import LocalStore
from adp.releases.pointer import read_pointer
from adp.repos.config import FileProblem, ReposConfigError, parse
from adp.repos.state import CommitNote
from adp_test_helpers.repo_support import Upstream, dag_text, write_config
from hypothesis import given, settings
from hypothesis import strategies as st

CALLER = Caller(actor="tester")


def entry(upstream: Upstream, **fields: object) -> NewRepository:
    values: dict = {"name": "workflows", "url": upstream.url, "namespace": "sales",
                    "path": "dags", **fields}  # fmt: skip
    return NewRepository(**values)


def test_add_approve_rollback_and_remove_say_what_they_changed(tmp_path: Path) -> None:
    upstream = Upstream(tmp_path)
    first = upstream.commit({"dags/sales_daily.py": dag_text("sales_daily")}, "first")
    config, store = tmp_path / "airflow-repos.yaml", tmp_path / "store"
    new = entry(upstream, auto_deploy=False)
    with pytest.raises(UsageError) as missing:  # no file and no store to create it with
        ops.check_addition(config, new)
    assert missing.value.loc == ("bucket",) and not config.exists()
    assert ops.check_addition(config, new, str(store), "dev") is True  # it would create it
    added = ops.add_repository(config, new, CALLER, str(store), "dev", reason="test")
    assert (added.repository, added.namespace, added.env) == ("workflows", "sales", "dev")
    assert added.sync is not None
    assert (added.sync.outcome, added.sync.ok, added.sync.changed) == ("pending", True, False)
    assert added.sync.dag_ids == ["sales_daily"]

    plan = ops.check_approve(config, "workflows", first, CALLER)
    assert (plan.env, plan.namespace, plan.promoted) == ("dev", "sales", None)
    assert "first" in plan.subject
    approved = ops.approve(config, "workflows", first, CALLER)
    assert (approved.action, approved.outcome, approved.ok, approved.changed) == (
        "approve", "approved", True, True,
    )  # fmt: skip
    local = LocalStore(store)
    assert read_pointer(local, "dev", "sales").version == first

    second = upstream.commit({"dags/sales_daily.py": dag_text("sales_daily", "v2")}, "second")
    assert ops.sync(config, "workflows", CALLER).outcome == "pending"
    assert ops.approve(config, "workflows", second, CALLER).promoted == second
    assert ops.check_rollback(config, "workflows", first, CALLER).moves is True
    back = ops.rollback(config, "workflows", first, CALLER)
    assert (back.outcome, back.changed, back.promoted) == ("rolled-back", True, first)
    assert ops.check_rollback(config, "workflows", first, CALLER).moves is False
    assert read_pointer(local, "dev", "sales").version == first

    listed = ops.list_repositories(config, with_store=True)
    assert [(r.name, r.promoted, r.release_current) for r in listed] == [
        ("workflows", first, first)
    ]
    assert ops.check_removal(config, "workflows").changed is False
    removed = ops.remove_repository(config, "workflows", CALLER)
    assert (removed.changed, removed.release, removed.reparse) == (True, first, None)
    assert read_pointer(local, "dev", "sales").version is None
    assert ops.open_config(config).repositories == []
    actions = [e["action"] for e in ops.audit(config)]
    assert actions == ["add", "pending", "approve", "pending", "approve", "rollback", "remove"]


@pytest.fixture
def quiet(tmp_path: Path) -> tuple[Path, Upstream]:
    """A file with one repository never synced: refusals need no validation."""
    upstream = Upstream(tmp_path)
    upstream.commit({"dags/sales_daily.py": dag_text("sales_daily")}, "first")
    config = write_config(
        tmp_path / "airflow-repos.yaml",
        tmp_path / "store",
        [{"name": "workflows", "url": upstream.url, "namespace": "sales"}],
    )
    return config, upstream


def test_refusals_name_the_argument_and_change_nothing(quiet: tuple[Path, Upstream]) -> None:
    config, upstream = quiet
    before = config.read_bytes()
    with pytest.raises(NotFound) as unknown:
        ops.sync(config, "nope", CALLER)
    assert unknown.value.loc == ("name",) and "workflows" in unknown.value.message
    with pytest.raises(UsageError) as short:
        ops.approve(config, "workflows", "abc123", CALLER)
    assert short.value.loc == ("sha",)
    with pytest.raises(Refused) as waiting:
        ops.approve(config, "workflows", upstream.head(), CALLER)
    assert waiting.value.loc == ("sha",) and "not waiting for approval" in waiting.value.message
    with pytest.raises(Refused) as never:
        ops.rollback(config, "workflows", "0" * 40, CALLER)
    assert never.value.loc == ("sha",) and "never promoted" in never.value.message
    # a bad field of a new entry is the argument's problem, from the file's data (no text parsed)
    with pytest.raises(UsageError) as bad:
        ops.check_addition(config, entry(upstream, name="ops", namespace="sales"))
    assert bad.value.loc == ("namespace",) and "already used" in bad.value.message
    with pytest.raises(UsageError) as interval:
        ops.add_repository(config, entry(upstream, name="ops", namespace="ops",
                                         sync_interval="1s"), CALLER)  # fmt: skip
    assert interval.value.loc == ("sync_interval",)
    assert interval.value.message.endswith("nothing was written")
    assert config.read_bytes() == before


def test_a_file_with_other_problems_is_the_config_argument(tmp_path: Path) -> None:
    config = tmp_path / "airflow-repos.yaml"
    config.write_text("release_store:\n  bucket: ./store\n  env: dev\n  colour: red\n")
    with pytest.raises(ReposConfigError) as broken:
        ops.open_config(config)
    (problem,) = broken.value.problems
    assert (problem.file, problem.line, problem.loc) == (
        str(config),
        4,
        ("release_store", "colour"),
    )
    assert (
        problem
        == f"{config}:4: release_store.colour: unknown field: remove it or check its spelling"
    )


def test_a_rewritten_history_is_recorded_as_data_and_approvable(tmp_path: Path) -> None:
    upstream = Upstream(tmp_path)
    first = upstream.commit({"dags/sales_daily.py": dag_text("sales_daily")}, "first")
    config = write_config(
        tmp_path / "airflow-repos.yaml",
        tmp_path / "store",
        [{"name": "workflows", "url": upstream.url, "namespace": "sales", "path": "dags"}],
    )
    upstream.commit({"dags/sales_daily.py": dag_text("sales_daily", "v2")}, "second")
    assert ops.sync(config, "workflows", CALLER).outcome == "promoted"
    upstream.reset(first)  # a force-push: the promoted commit is no ancestor of the new tip
    upstream.commit({"dags/sales_daily.py": dag_text("sales_daily", "v3")}, "beside", push=False)
    upstream.push(force=True)
    rewritten = ops.sync(config, "workflows", CALLER)
    assert (rewritten.outcome, rewritten.ok) == ("rewritten", False), rewritten
    state = ops.promoter(ops.open_config(config)).state.load("workflows")
    assert [n.rewritten for n in state.refused] == [True]
    approved = ops.approve(config, "workflows", upstream.head(), CALLER)
    assert approved.outcome == "approved" and approved.changed


def test_a_state_file_from_before_keeps_its_rewritten_refusals() -> None:
    old = {"sha": "a" * 40, "reason": "history rewritten: the promoted commit ..."}
    assert CommitNote.model_validate(old).rewritten is True
    assert CommitNote.model_validate({**old, "reason": "validation failed"}).rewritten is False
    assert CommitNote.model_validate({**old, "rewritten": False}).rewritten is False


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_only_a_full_commit_id_passes_the_sha_check(text: str) -> None:
    full = len(text) == 40 and all(c in "0123456789abcdef" for c in text)
    try:
        assert ops.check_sha(text) == text and full
    except UsageError as error:
        assert not full and error.loc == ("sha",)


NAMES = st.sampled_from(["name", "url", "namespace", "branch", "sync_interval"])


@settings(max_examples=100, deadline=None)
@given(
    st.integers(min_value=0, max_value=50),
    st.integers(min_value=1, max_value=9999),
    NAMES,
    st.text(
        st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=40
    ).filter(lambda t: t.strip() == t),
)
def test_a_file_problem_is_its_text_and_its_data(
    index: int, line: int, field: str, message: str
) -> None:
    from adp.errors import Problem

    problem = Problem(file="f.yaml", line=line, loc=("repositories", index, field), message=message)
    made = FileProblem(problem)
    assert made == f"f.yaml:{line}: repositories[{index}].{field}: {message}"
    assert (made.file, made.line, made.loc, made.message) == (
        "f.yaml", line, ("repositories", index, field), message,
    )  # fmt: skip
    error = ReposConfigError([made, "plain text"])
    assert error.problems[1] == "plain text" and error.problems[1].loc == ()
    assert str(error).splitlines()[1].strip() == made


def test_parse_problems_carry_the_field_of_the_entry() -> None:
    text = (
        "release_store:\n  bucket: s3://dags\n  env: dev\nrepositories:\n  - name: a\n"
        "    url: https://h/r.git\n    namespace: Bad\n"
    )
    with pytest.raises(ReposConfigError) as caught:
        parse(text, "airflow-repos.yaml")
    (problem,) = caught.value.problems
    assert problem.loc == ("repositories", 0, "namespace") and problem.line == 7
