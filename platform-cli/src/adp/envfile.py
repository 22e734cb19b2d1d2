"""``KEY=value`` files (``facts.env``, ``images.env``, ``secrets.env``, Layer 1's ``.env``): the
one parser of ``adp``.

Invariant: a line is blank, a ``#`` comment, or one assignment ``KEY=value`` with ``KEY`` an
upper-case variable name (``[A-Z_][A-Z0-9_]*``); nothing is ever expanded (no ``$VAR``, no
command, no escape), so the file means the same to ``adp``, ``make`` and ``docker compose``.
Every assignment keeps its line number, so a caller's message names ``file:line``.

Two grammars, chosen by the caller:

- ``strict`` (``facts.env``, read by ``make`` and ``scripts/fact`` too): exactly
  ``KEY=value``, no space around ``=``, a value without spaces, quotes, ``$`` or backquotes;
  a key written twice is an error.
- ``loose`` (files people edit, in Docker's ``.env`` dialect): spaces around the key and the
  value are ignored and quotes around the value are dropped; a later line wins.

A line that is none of these is an :class:`EnvFileError` (``file:line``, what was expected, the
line), or left out when the caller reads a file it does not own (``skip_bad=True``).

python-dotenv (installed with pydantic-settings) is not used: it expands ``${VAR}``, drops
inline comments, unescapes quoted values, reports a bad line only as a logged warning, and has
no line numbers nor duplicate refusal; each of those would change what these files mean.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from adp.errors import UsageError

KEY_PATTERN = r"[A-Z_][A-Z0-9_]*"
_STRICT = re.compile(rf"^(?P<key>{KEY_PATTERN})=(?P<value>[^\s\"'$`]+)$")
_LOOSE = re.compile(rf"^\s*(?P<key>{KEY_PATTERN})\s*=(?P<value>.*)$")
EXPECTED = {"strict": "KEY=value with no quotes or spaces", "loose": "KEY=value"}


class EnvFileError(UsageError, ValueError):
    """A line of a ``KEY=value`` file is not an assignment, or a key is written twice."""


@dataclass(frozen=True)
class Assignment:
    """One ``KEY=value`` line: its number (from 1), the key, the value and the line as written."""

    line: int
    key: str
    value: str
    raw: str


def assignments(
    text: str,
    source: str,
    *,
    grammar: Literal["strict", "loose"] = "loose",
    skip_bad: bool = False,
) -> list[Assignment]:
    """Every assignment of ``text`` in file order (see the module for the grammars); ``source``
    names the file in errors."""
    found: list[Assignment] = []
    seen: set[str] = set()
    pattern = _STRICT if grammar == "strict" else _LOOSE
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = pattern.match(line)
        if not match:
            if skip_bad:
                continue
            expected = EXPECTED[grammar]
            raise EnvFileError(f"expected {expected}, got {raw!r}", file=source, line=number)
        key, value = match["key"], match["value"]
        if grammar == "strict":
            if key in seen:
                raise EnvFileError(
                    f"{key} is written twice; keep one line", file=source, line=number
                )
            seen.add(key)
        else:
            value = value.strip().strip("'\"")
        found.append(Assignment(number, key, value, raw))
    return found


def values(
    text: str,
    source: str,
    *,
    grammar: Literal["strict", "loose"] = "loose",
    skip_bad: bool = False,
) -> dict[str, str]:
    """KEY -> value of :func:`assignments` (a later line wins, in the loose grammar)."""
    return {a.key: a.value for a in assignments(text, source, grammar=grammar, skip_bad=skip_bad)}
