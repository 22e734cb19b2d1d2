"""YAML read with the line of every value, so that an error names ``file:line``.

``load(text, source)`` returns the data (PyYAML's safe loader, refusing a key written twice in
one mapping) and a map from each value's path (``("repositories", 0, "url")``) to its 1-based
line. ``line_of(lines, loc)`` finds the nearest known line for a pydantic error location.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

Loc = tuple[int | str, ...]


class YamlError(ValueError):
    """The text is not YAML the model can read; the message names the source and the line."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """The safe loader, refusing a key written twice in one mapping (PyYAML keeps the last)."""


def _mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    loader.flatten_mapping(node)
    result: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            raise yaml.constructor.ConstructorError(
                None, None, "a key must be a plain name, not a list or a mapping",
                key_node.start_mark,
            )  # fmt: skip
        key = loader.construct_object(key_node, deep=deep)
        if key in result:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"key {key!r} is written twice in one mapping (keep one)",
                key_node.start_mark,
            )
        result[key] = loader.construct_object(value_node, deep=deep)
    return result


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def _walk(node: yaml.Node, loc: Loc, lines: dict[Loc, int]) -> None:
    lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
            lines[(*loc, key)] = key_node.start_mark.line + 1
            _walk(value_node, (*loc, key), lines)
            lines[(*loc, key)] = key_node.start_mark.line + 1  # the key's line, not the value's
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*loc, index), lines)


class _Alias(Exception):
    def __init__(self, mark: yaml.Mark) -> None:
        self.mark = mark


def _refuse_aliases(text: str) -> None:
    for token in yaml.scan(text, Loader=_UniqueKeyLoader):
        if isinstance(token, yaml.AliasToken | yaml.AnchorToken):
            raise _Alias(token.start_mark)


def load(text: str, source: str) -> tuple[Any, dict[Loc, int]]:
    """The data of ``text`` and the line of each value; ``YamlError`` naming ``source``.
    Anchors and aliases are refused: each entry is written out, as a reviewer reads it."""
    try:
        _refuse_aliases(text)
        node = yaml.compose(text, Loader=_UniqueKeyLoader)
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f":{mark.line + 1}" if mark else ""
        problem = error.problem or error.context or "not valid YAML"
        raise YamlError(f"{source}{where}: {problem}; fix the YAML") from None
    except yaml.YAMLError as error:
        raise YamlError(f"{source}: not valid YAML ({error}); fix the YAML") from None
    except _Alias as alias:
        raise YamlError(
            f"{source}:{alias.mark.line + 1}: anchors and aliases (& and *) are not supported: "
            "write each value out"
        ) from None
    lines: dict[Loc, int] = {}
    if node is not None:
        _walk(node, (), lines)
    return data, lines


def line_of(lines: dict[Loc, int], loc: Sequence[int | str]) -> int:
    """The line of ``loc``, or of its nearest enclosing value that has one (1 if none)."""
    parts = tuple(loc)
    while parts:
        if parts in lines:
            return lines[parts]
        parts = parts[:-1]
    return lines.get((), 1)


def node_span(text: str, loc: Loc) -> tuple[int, int] | None:
    """The 0-based first line and the line after the last of the value at ``loc`` (for an
    edit that keeps the rest of the file, comments included, as written); None if absent."""
    node = yaml.compose(text, Loader=_UniqueKeyLoader)
    for part in loc:
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            found = [v for k, v in node.value if getattr(k, "value", None) == part]
            if not found:
                return None
            node = found[0]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return None
            node = node.value[part]
        else:
            return None
    if node is None:
        return None
    mark = node.end_mark
    lines = text.splitlines()
    before = lines[mark.line][: mark.column] if mark.line < len(lines) else ""
    end = mark.line + (1 if before.strip() else 0)
    # The node ends where the next token starts: comments and blank lines before that belong
    # to what follows, not to this value.
    while end > node.start_mark.line + 1 and (
        not lines[end - 1].strip() or lines[end - 1].lstrip().startswith("#")
    ):
        end -= 1
    return node.start_mark.line, end


def is_block_sequence(text: str, loc: Loc) -> bool:
    """Whether the value at ``loc`` is a list written one item per line (``- ...``)."""
    node = yaml.compose(text, Loader=_UniqueKeyLoader)
    for part in loc:
        if not isinstance(node, yaml.MappingNode):
            return False
        found = [v for k, v in node.value if getattr(k, "value", None) == part]
        if not found:
            return False
        node = found[0]
    return isinstance(node, yaml.SequenceNode) and not node.flow_style
