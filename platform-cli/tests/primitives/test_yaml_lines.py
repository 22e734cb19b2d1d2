"""adp.yaml_lines, the one YAML reader: a key written twice anywhere is refused naming both
lines; a text over the size bound or nested deeper than the depth bound is refused with a clear
message, never a RecursionError; anchors and aliases are refused unless the caller allows them;
every value keeps its line."""

from __future__ import annotations

import pytest
import yaml
from adp.yaml_lines import ALIASES, MAX_BYTES, MAX_DEPTH, YamlError, load
from hypothesis import given, settings
from hypothesis import strategies as st

# "k..." is never a boolean or null in YAML 1.1 (as "on" or "null" are), so keys stay distinct.
KEYS = st.from_regex(r"k[a-z0-9_]{0,8}", fullmatch=True)


@settings(max_examples=60, deadline=None)
@given(
    path=st.lists(KEYS, max_size=6),
    before=st.lists(KEYS, max_size=4, unique=True),
    between=st.lists(KEYS, max_size=4, unique=True),
    key=KEYS,
)
def test_a_key_written_twice_anywhere_is_refused_naming_both_lines(
    path: list[str], before: list[str], between: list[str], key: str
) -> None:
    siblings = [k for k in dict.fromkeys(before + between) if k != key]
    head, tail = siblings[: len(siblings) // 2], siblings[len(siblings) // 2 :]
    lines = ["TOP: 1"] + [f"{'  ' * depth}{part}:" for depth, part in enumerate(path)]
    indent = "  " * len(path)
    lines += [f"{indent}{k}: x" for k in head]
    first = len(lines) + 1
    lines.append(f"{indent}{key}: 1")
    lines += [f"{indent}{k}: y" for k in tail]
    second = len(lines) + 1
    lines.append(f"{indent}{key}: 2")
    with pytest.raises(YamlError) as raised:
        load("\n".join(lines) + "\n", "f.yaml")
    problem = raised.value.problems[0]
    assert (
        problem.message == f"key {key!r} is written twice in one mapping (keep one); fix the YAML"
    )
    assert (problem.file, problem.line, raised.value.context_line) == ("f.yaml", second, first)


def _nested(depth: int, flow: bool) -> str:
    if flow:
        return "[" * depth + "]" * depth
    return "".join(f"{'  ' * level}k{level}:\n" for level in range(depth)) + "  " * depth + "v\n"


@settings(max_examples=30, deadline=None)
@given(depth=st.integers(1, 600), flow=st.booleans(), aliases=st.booleans())
def test_nesting_is_bounded_and_never_a_recursion_error(
    depth: int, flow: bool, aliases: bool
) -> None:
    text = _nested(depth, flow)  # `depth` mappings or lists, one inside the other
    if depth <= MAX_DEPTH:
        load(text, "f.yaml", allow_aliases=aliases)
        return
    with pytest.raises(YamlError) as raised:
        load(text, "f.yaml", allow_aliases=aliases)
    problem = raised.value.problems[0]
    assert problem.message.startswith(f"nested more than {MAX_DEPTH} levels deep"), problem
    assert problem.file == "f.yaml" and problem.line is not None


def test_nesting_far_past_the_interpreter_stack_is_refused_not_a_recursion_error() -> None:
    for text in ("[" * 200_000, "{a: " * 100_000, "- " * 100_000 + "x\n"):
        with pytest.raises(YamlError, match="levels deep"):
            load(text, "f.yaml", allow_aliases=True)


@pytest.mark.parametrize(("extra", "aliases"), [(1, False), (4096, True)])
def test_a_text_over_the_size_bound_is_refused_unread(extra: int, aliases: bool) -> None:
    body = "".join(f"k{i:07d}: {'v' * 70}\n" for i in range(MAX_BYTES // 81))  # 81 bytes each
    text = body + "#" + "p" * (MAX_BYTES - len(body) - 1)  # a comment up to the bound
    assert len(text.encode()) == MAX_BYTES
    load(text, "f.yaml")  # at the bound: read
    with pytest.raises(YamlError) as raised:
        load(text + "x" * extra, "f.yaml", allow_aliases=aliases)
    problem = raised.value.problems[0]
    assert problem.message.startswith(f"too large: over the {MAX_BYTES // 1024} KiB limit")
    assert problem.file == "f.yaml" and problem.line is not None


@settings(max_examples=40, deadline=None)
@given(
    value=st.recursive(
        st.integers() | st.text(alphabet="abcxyz ", max_size=5),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
        max_leaves=8,
    ),
    block=st.booleans(),
)
def test_aliases_are_refused_unless_allowed(value: object, block: bool) -> None:
    # Upper-case keys: no generated key or text contains them. COPY is replaced by an alias.
    text = yaml.safe_dump({"BASE": value, "COPY": 0}, default_flow_style=not block, sort_keys=False)
    anchored = text.replace("BASE:", "BASE: &b", 1)
    anchored = anchored[: anchored.index("COPY:")] + ("COPY: *b\n" if block else "COPY: *b}\n")
    with pytest.raises(YamlError) as raised:
        load(anchored, "f.yaml")
    assert raised.value.problems[0].message == ALIASES
    data, lines = load(anchored, "f.yaml", allow_aliases=True)
    assert data == {"BASE": value, "COPY": value}
    assert lines[("COPY",)] >= lines[("BASE",)] >= 1


def test_an_alias_of_itself_is_loaded_when_allowed_and_never_walked_forever() -> None:
    data, lines = load("a: &a [1, *a]\n", "f.yaml", allow_aliases=True)
    assert data["a"][1] is data["a"] and lines[("a",)] == 1


def test_every_value_keeps_its_line() -> None:
    data, lines = load("a:\n  - x: 1\n    y: [2, 3]\nb: z\n", "f.yaml")
    assert data == {"a": [{"x": 1, "y": [2, 3]}], "b": "z"}
    assert lines[("a", 0, "x")] == 2 and lines[("a", 0, "y")] == 3 and lines[("b",)] == 4
