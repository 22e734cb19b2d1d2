"""Editing airflow-repos.yaml as text: what adp repos add and remove leave untouched is
byte for byte what was written (comments included); a layout they cannot edit safely is
refused with the reason, changing nothing."""

from __future__ import annotations

import pytest
from adp.repos.config import ReposConfigError
from adp.repos.edit import with_entry, without_entry

HEAD = "release_store:\n  bucket: /srv/store\n  env: dev\n"
ENTRY = {"name": "ops", "url": "https://git.example.com/ops.git", "namespace": "ops"}


def entry(name: str) -> str:
    return f"  - name: {name}\n    url: https://git.example.com/{name}.git\n    namespace: {name}\n"


def test_removing_an_entry_keeps_the_comments_of_the_next_one_and_of_the_keys_after() -> None:
    text = (
        HEAD + "repositories:\n" + entry("sales") + "  # billing: keep this note\n"
        + entry("billing") + "\n# airflow settings below\nairflow:\n  url: http://a:8080\n"
    )  # fmt: skip
    assert without_entry(text, 0) == (
        HEAD + "repositories:\n" + "  # billing: keep this note\n" + entry("billing")
        + "\n# airflow settings below\nairflow:\n  url: http://a:8080\n"
    )  # fmt: skip
    removed_last = without_entry(text, 1)
    assert "# billing: keep this note\n" in removed_last  # it stays above where it was
    assert removed_last.endswith("\n# airflow settings below\nairflow:\n  url: http://a:8080\n")


def test_adding_goes_after_the_last_entry_not_into_the_next_keys_comment() -> None:
    text = HEAD + "repositories:\n" + entry("sales") + "\n# airflow settings below\nairflow: {}\n"
    added = with_entry(text, ENTRY, "f.yaml")
    assert added == (
        HEAD + "repositories:\n" + entry("sales")
        + "  - name: ops\n    url: https://git.example.com/ops.git\n    namespace: ops\n"
        + "\n# airflow settings below\nairflow: {}\n"
    )  # fmt: skip


def test_the_last_entry_can_go_when_the_key_line_has_a_comment() -> None:
    text = HEAD + "repositories:  # the repos\n" + entry("sales")
    assert without_entry(text, 0) == HEAD + "repositories: []  # the repos\n"


def test_a_one_line_list_is_refused_not_emptied() -> None:
    text = HEAD + "repositories: [{name: a, url: 'file:///a', namespace: a}, " \
        "{name: b, url: 'file:///b', namespace: b}]\n"  # fmt: skip
    with pytest.raises(ReposConfigError, match=r"written as a \[...\] list on one line"):
        without_entry(text, 0)
    with pytest.raises(ReposConfigError, match="one line"):
        with_entry(text, ENTRY, "f.yaml")


def test_broken_yaml_is_a_message() -> None:
    with pytest.raises(ReposConfigError, match=r"f\.yaml:3: expected the node content"):
        with_entry("release_store:\n  bucket: [\n", ENTRY, "f.yaml")
