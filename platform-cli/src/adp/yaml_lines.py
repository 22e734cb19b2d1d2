"""The one YAML reader of adp: duplicate keys refused, bounded, and the line of every value.

``load(text, source)`` returns the data (PyYAML's safe loader, refusing a key written twice in
one mapping, a key that is a list or a mapping, a text over ``MAX_BYTES`` and nesting deeper
than ``MAX_DEPTH``, each as a ``YamlError`` naming ``source:line``) and a map from each value's
path (``("repositories", 0, "url")``) to its 1-based line. Anchors and aliases are refused too,
unless the caller passes ``allow_aliases=True`` (for files whose format has always accepted
them: a DAG spec, the Astro CLI's files). No input raises ``RecursionError``: the size is
checked before parsing and the depth as the parser emits each event, before anything recurses.
``line_of(lines, loc)`` finds the nearest known line for a pydantic error location;
``node_span`` and ``is_block_sequence`` serve edits that keep the rest of a file as written.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

from adp.errors import UsageError

Loc = tuple[int | str, ...]
# A configuration file's bounds: a few thousand entries fit in 1 MiB; the deepest value of
# airflow-repos.yaml is 4 levels down (repositories[i].validation.field), and a DAG spec's or
# airflow_settings.yaml's a few more at most.
MAX_BYTES = 1024 * 1024
MAX_DEPTH = 32


class YamlError(UsageError, ValueError):
    """The text is not YAML the model can read; the message names the source and the line.
    ``column`` is the 1-based column of the problem, when the parser knows it;
    ``context_line`` the line of the context it names (of a key written twice, the first)."""

    column: int | None = None
    context_line: int | None = None


class _UniqueKeyLoader(yaml.SafeLoader):
    """The safe loader, refusing a key written twice in one mapping (PyYAML keeps the last)."""


def _mapping(
    loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False
) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    result: dict[Any, Any] = {}
    first: dict[Any, yaml.Node] = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            raise yaml.constructor.ConstructorError(
                None, None, "a key must be a plain name, not a list or a mapping",
                key_node.start_mark,
            )  # fmt: skip
        key = loader.construct_object(key_node, deep=deep)
        if key in result:
            raise yaml.constructor.ConstructorError(
                f"key {key!r} first written here",
                first[key].start_mark,
                f"key {key!r} is written twice in one mapping (keep one)",
                key_node.start_mark,
            )
        first[key] = key_node
        result[key] = loader.construct_object(value_node, deep=deep)
    return result


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def _walk(node: yaml.Node, loc: Loc, lines: dict[Loc, int], seen: set[int]) -> None:
    lines[loc] = node.start_mark.line + 1
    if id(node) in seen:  # an alias of a node already walked (allow_aliases): maybe a cycle
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
            lines[(*loc, key)] = key_node.start_mark.line + 1
            _walk(value_node, (*loc, key), lines, seen)
            lines[(*loc, key)] = key_node.start_mark.line + 1  # the key's line, not the value's
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*loc, index), lines, seen)


# Private control flow, not an AdpError: raised inside the loader's constructors and turned into
# a YamlError naming the file and line by _compose; it never leaves this module.
class _Refused(Exception):
    def __init__(self, event: yaml.Event, message: str) -> None:
        mark = event.start_mark
        self.line = mark.line + 1 if mark is not None else None
        self.column = mark.column + 1 if mark is not None else None
        self.message = message


ALIASES = "anchors and aliases (& and *) are not supported: write each value out"


class _BoundedLoader(_UniqueKeyLoader):
    """The loader, refusing nesting deeper than ``max_depth`` and (unless ``allow_aliases``)
    anchors and aliases as the parser emits each event: nothing deeper is ever composed
    (composing recurses), and no alias is expanded unless allowed. An allowed alias is composed
    as a reference to its anchor's node, never copied, so it adds no depth to compose."""

    def __init__(self, text: str, max_depth: int, allow_aliases: bool) -> None:
        super().__init__(text)
        self.depth = 0
        self.max_depth = max_depth
        self.allow_aliases = allow_aliases

    def get_event(self) -> yaml.Event:
        event = super().get_event()
        if not self.allow_aliases and (
            isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None)
        ):
            raise _Refused(event, ALIASES)
        if isinstance(event, yaml.CollectionStartEvent):
            self.depth += 1
            if self.depth > self.max_depth:
                raise _Refused(
                    event,
                    f"nested more than {self.max_depth} levels deep (a configuration file needs "
                    "a few): write it flatter",
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            self.depth -= 1
        return event


def _too_large(text: str, source: str, max_bytes: int) -> YamlError | None:
    data = text.encode("utf-8", "replace")
    if len(data) <= max_bytes:
        return None
    line = data[:max_bytes].count(b"\n") + 1
    return YamlError(
        f"too large: over the {max_bytes // 1024} KiB limit of a configuration file from this "
        "line on; keep only configuration in it",
        file=source,
        line=line,
    )


def _compose(
    text: str, source: str, max_bytes: int, max_depth: int, allow_aliases: bool = False
) -> tuple[Any, Any]:
    """The node tree and the data of ``text``, within the bounds; ``YamlError`` otherwise."""
    too_large = _too_large(text, source, max_bytes)
    if too_large is not None:
        raise too_large
    loader = None
    try:
        # Constructing the loader reads the text: it refuses unprintable characters.
        loader = _BoundedLoader(text, max_depth, allow_aliases)
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        problem = error.problem or error.context or "not valid YAML"
        syntax = YamlError(
            f"{problem}; fix the YAML", file=source, line=mark.line + 1 if mark else None
        )
        syntax.column = mark.column + 1 if mark else None
        context = error.context_mark if error.problem_mark else None
        syntax.context_line = context.line + 1 if context else None
        raise syntax from None
    except yaml.reader.ReaderError as error:
        raise YamlError(
            f"character U+{error.character:04X} is not allowed in YAML; remove it",
            file=source,
            line=text[: error.position].count("\n") + 1,
        ) from None
    except yaml.YAMLError as error:
        raise YamlError(f"not valid YAML ({error}); fix the YAML", file=source) from None
    except _Refused as refused:
        refusal = YamlError(refused.message, file=source, line=refused.line)
        refusal.column = refused.column
        raise refusal from None
    finally:
        if loader is not None:
            loader.dispose()
    return node, data


def load(
    text: str,
    source: str,
    max_bytes: int = MAX_BYTES,
    max_depth: int = MAX_DEPTH,
    *,
    allow_aliases: bool = False,
) -> tuple[Any, dict[Loc, int]]:
    """The data of ``text`` and the line of each value; ``YamlError`` naming ``source``.
    Anchors and aliases are refused unless ``allow_aliases``: each entry is written out, as a
    reviewer reads it. An allowed alias is the same object as its anchor's value (PyYAML's
    safe loader), so the data may share values, or even hold itself (``&a [*a]``).

    Bounded before anything recurses: a text over ``max_bytes`` is refused unread, and
    nesting is counted as the parser emits it (the parser itself keeps an explicit stack), so
    nothing deeper than ``max_depth`` is composed: no input raises ``RecursionError``."""
    node, data = _compose(text, source, max_bytes, max_depth, allow_aliases)
    lines: dict[Loc, int] = {}
    if node is not None:
        _walk(node, (), lines, set())
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
    node, _ = _compose(text, "the text", MAX_BYTES, MAX_DEPTH)
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
    node, _ = _compose(text, "the text", MAX_BYTES, MAX_DEPTH)
    for part in loc:
        if not isinstance(node, yaml.MappingNode):
            return False
        found = [v for k, v in node.value if getattr(k, "value", None) == part]
        if not found:
            return False
        node = found[0]
    return isinstance(node, yaml.SequenceNode) and not node.flow_style
