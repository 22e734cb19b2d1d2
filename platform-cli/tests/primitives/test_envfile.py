"""adp.envfile: the one KEY=value parser. Every assignment keeps its line; nothing is expanded;
the strict grammar (facts.env) refuses what make and scripts/fact could misread and a key
written twice; the loose one (Docker's .env dialect) drops spaces and quotes around values."""

from __future__ import annotations

import pytest
from adp import envfile
from hypothesis import given, settings
from hypothesis import strategies as st

KEYS = st.from_regex(r"[A-Z_][A-Z0-9_]{0,8}", fullmatch=True)
STRICT_VALUES = st.from_regex(r"[A-Za-z0-9_./:@+=,-]{1,20}", fullmatch=True)
LOOSE_VALUES = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=20
)
COMMENTS = st.sampled_from(["", "# a comment", "   ", "#KEY=not-an-assignment"])


@settings(max_examples=100, deadline=None)
@given(
    pairs=st.dictionaries(KEYS, STRICT_VALUES, max_size=6),
    noise=st.lists(COMMENTS, max_size=6),
)
def test_strict_reads_back_what_was_written_with_line_numbers(
    pairs: dict[str, str], noise: list[str]
) -> None:
    lines: list[str] = []
    expected = []
    for index, (key, value) in enumerate(pairs.items()):
        if index < len(noise):
            lines.append(noise[index])
        lines.append(f"{key}={value}")
        expected.append((len(lines), key, value))
    found = envfile.assignments("\n".join(lines) + "\n", "facts.env", grammar="strict")
    assert [(a.line, a.key, a.value) for a in found] == expected
    assert envfile.values("\n".join(lines), "facts.env", grammar="strict") == pairs


@settings(max_examples=100, deadline=None)
@given(key=KEYS, value=LOOSE_VALUES, left=st.sampled_from(["", " ", "\t"]))
def test_loose_drops_spaces_and_quotes_and_expands_nothing(key: str, value: str, left: str) -> None:
    text = f"{left}{key}{left}={left}{value}{left}\n"
    assert envfile.values(text, ".env") == {key: value.strip().strip("'\"")}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("A=1\nB = 2\n", "facts.env:2: expected KEY=value with no quotes or spaces, got 'B = 2'"),
        ("A='1'\n", "facts.env:1: expected KEY=value with no quotes or spaces, got \"A='1'\""),
        ("A=$HOME\n", "facts.env:1: expected KEY=value with no quotes or spaces"),
        ("\nA=1\nA=2\n", "facts.env:3: A is written twice; keep one line"),
        ("lower=1\n", "facts.env:1: expected KEY=value with no quotes or spaces"),
    ],
)
def test_strict_refusals_name_the_line(text: str, message: str) -> None:
    with pytest.raises(envfile.EnvFileError) as caught:
        envfile.values(text, "facts.env", grammar="strict")
    assert str(caught.value).startswith(message)
    assert caught.value.problems[0].file == "facts.env"
    assert caught.value.exit_code == 2


def test_loose_refuses_or_skips_a_bad_line_and_a_later_line_wins() -> None:
    with pytest.raises(envfile.EnvFileError, match=r"^images.env:2: expected KEY=value, got 'x=1'"):
        envfile.values("A=1\nx=1\n", "images.env")
    assert envfile.values("A=1\nx=1\nnonsense\nA = '2'\n", ".env", skip_bad=True) == {"A": "2"}
    assert envfile.values("K=a=b#c $HOME\n", ".env") == {"K": "a=b#c $HOME"}
