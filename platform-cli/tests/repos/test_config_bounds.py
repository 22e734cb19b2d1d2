"""``airflow-repos.yaml`` is bounded before it is parsed: a file over the size limit, or nested
deeper than any real file is, is refused with ``file:line`` and a message, quickly. No input
(any text, any bytes, any nesting) raises anything but ``ReposConfigError``: no
``RecursionError``, no minutes of parsing."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from adp.repos.config import ReposConfigError, load_config, parse
from adp.repos.edit import with_entry
from adp.yaml_lines import MAX_BYTES, MAX_DEPTH
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# Seconds any one input may take: the issue's file took 15 s to end in a RecursionError.
BOUND = 3.0


def refused(text: str, source: str = "airflow-repos.yaml") -> list[str]:
    started = time.monotonic()
    with pytest.raises(ReposConfigError) as caught:
        parse(text, source)
    assert time.monotonic() - started < BOUND
    return caught.value.problems


def block(depth: int) -> str:
    """``a:`` nested ``depth`` deep, one level more indented per line (the issue's file)."""
    return "".join("  " * i + "a:\n" for i in range(depth))


def test_the_issues_case_5000_deep_is_a_message_at_its_line(tmp_path: Path) -> None:
    config = tmp_path / "airflow-repos.yaml"
    config.write_text("release_store:\n  bucket: s3://dags\n  env: dev\n" + block(5000))
    started = time.monotonic()
    with pytest.raises(ReposConfigError) as caught:
        load_config(config)
    assert time.monotonic() - started < BOUND
    (problem,) = caught.value.problems
    assert problem.startswith(f"{config}:"), problem
    assert "too large" in problem or "nested" in problem, problem


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("[" * 5000 + "]" * 5000, 1),
        ("{a: " * 5000 + "}" * 5000, 1),
        ("- " * 5000 + "x\n", 1),
        ("x:\n" + "".join("  " * (i + 1) + "- \n" for i in range(MAX_DEPTH * 2)), MAX_DEPTH + 1),
        (block(MAX_DEPTH + 1), MAX_DEPTH + 1),
        ("repositories:\n" + "  - " + "[" * 100 + "\n", 2),
    ],
)
def test_deep_nesting_is_refused_naming_the_line_where_it_gets_too_deep(
    text: str, line: int
) -> None:
    (problem,) = refused(text)
    assert problem.startswith(f"airflow-repos.yaml:{line}: "), problem
    assert f"nested more than {MAX_DEPTH} levels" in problem, problem


def test_a_file_over_the_size_limit_is_refused_before_it_is_read_whole(tmp_path: Path) -> None:
    config = tmp_path / "airflow-repos.yaml"
    with config.open("w") as handle:
        handle.write("release_store:\n  bucket: s3://dags\n  env: dev\n")
        handle.write("# padding\n" * (MAX_BYTES // 10 + 1))
    started = time.monotonic()
    with pytest.raises(ReposConfigError) as caught:
        load_config(config)
    assert time.monotonic() - started < BOUND
    (problem,) = caught.value.problems
    assert problem.startswith(f"{config}:"), problem
    assert f"over the {MAX_BYTES // 1024} KiB" in problem, problem


def test_the_nesting_a_real_file_has_is_well_inside_the_limit() -> None:
    text = """\
release_store:
  bucket: s3://dags
  env: dev
repositories:
  - name: one
    url: https://git.example.com/one.git
    namespace: one
    validation:
      fail_on: warning
    webhook:
      provider: github
      secret_env: ONE_SECRET
"""
    assert parse(text, "airflow-repos.yaml").repositories[0].name == "one"
    assert MAX_DEPTH >= 8  # the model needs 4 levels (repositories[i].validation.field)


def test_adp_repos_add_on_a_deep_file_refuses_and_writes_nothing(tmp_path: Path) -> None:
    text = "release_store:\n  bucket: s3://dags\n  env: dev\nx: " + "[" * 5000 + "\n"
    with pytest.raises(ReposConfigError):
        with_entry(text, {"name": "a"}, "airflow-repos.yaml")


NESTERS = st.sampled_from(["[", "{a: ", "- ", "a:\n", "? ", "!!seq [", "&x [", "'", '"', "#"])


@settings(max_examples=150, deadline=None)
@given(
    opening=st.lists(NESTERS, min_size=1, max_size=40),
    repeat=st.integers(min_value=1, max_value=1500),
    tail=st.text(max_size=40),
)
def test_any_nesting_is_a_config_error_or_a_model_never_a_crash(
    opening: list[str], repeat: int, tail: str
) -> None:
    """Nesting built from every kind of YAML collection, flow and block, deep and shallow."""
    pieces = []
    for index in range(repeat):
        piece = opening[index % len(opening)]
        pieces.append(piece.replace("\n", "\n" + "  " * (index + 1)))
    text = "".join(pieces) + tail
    started = time.monotonic()
    try:
        parse(text, "airflow-repos.yaml")
    except ReposConfigError as error:
        assert all(p.startswith("airflow-repos.yaml") for p in error.problems), error.problems
    assert time.monotonic() - started < BOUND


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.one_of(st.binary(max_size=2000), st.text(max_size=2000).map(str.encode)))
def test_any_bytes_in_the_file_are_a_config_error_or_a_model_never_a_crash(
    tmp_path: Path, data: bytes
) -> None:
    config = tmp_path / "airflow-repos.yaml"
    config.write_bytes(data)
    started = time.monotonic()
    try:
        load_config(config)
    except ReposConfigError as error:
        assert all(p.startswith(str(config)) for p in error.problems), error.problems
    assert time.monotonic() - started < BOUND
