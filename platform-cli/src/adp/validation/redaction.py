"""Removing known secret values from what the code under validation can make the platform show.

The import check runs code the platform does not trust; what that code controls (an exception's
message, a DAG id, a tag, a network target) becomes findings that are recorded and shown. The
caller (the promoter) knows the credentials it holds; ``Redactor`` replaces each of them, in
every string of a result, with ``***``.

Invariant: after ``Redactor(secrets).text(t)``, ``t`` holds no secret of at least ``MIN_LENGTH``
characters as it is, nor any of these forms of it: hex (either case); base64 (standard or
URL-safe alphabet, padded or not, at any of the three alignments among other bytes: the
characters that depend on the secret's bytes only); its JSON, ``repr`` and URL-quoted (``%XX``,
``+``) escapes; the ``repr`` of its UTF-8 bytes; and the same for each line of a multi-line
secret (an SSH key's lines are shown one at a time) and for the bytes a PEM key's body decodes
to. Replacing is repeated until nothing is left, so a replacement never joins into a new
occurrence. Other encodings (a secret reversed, split, ROT13) are not caught: redaction is
defence in depth, not what keeps a secret from the code (see import_hiding).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
import urllib.parse
from collections.abc import Iterable

MIN_LENGTH = 4  # shorter values would garble every message and identify nothing
MIN_ENCODED = 8  # an encoded form shorter than this is not looked for
MIN_LINE = 16  # lines of a multi-line secret that are redacted on their own
MASK = "***"
PEM_ARMOR = re.compile(r"^-----(BEGIN|END) [A-Z0-9 ]+-----$")


def _base64_cores(data: bytes) -> list[str]:
    """The base64 characters that depend on ``data`` alone, at each of the three alignments
    ``data`` can have in a longer byte string (standard alphabet)."""
    cores = []
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + data).decode()
        start = -(-8 * offset // 6)  # the first character with no bit of the bytes before
        end = (8 * (offset + len(data))) // 6  # the last with no bit of the bytes after
        cores.append(encoded[start:end])
    return cores


def _forms(value: str | bytes) -> tuple[set[str], set[str]]:
    """(exact forms, hex forms matched in either case) of one secret."""
    data = value.encode() if isinstance(value, str) else value
    exact: set[str] = set()
    hexed: set[str] = set()
    if isinstance(value, str):
        exact |= {
            value,
            json.dumps(value)[1:-1],
            json.dumps(value, ensure_ascii=False)[1:-1],
            repr(value)[1:-1],
            urllib.parse.quote(value, safe=""),
            urllib.parse.quote_plus(value, safe=""),
        }
    exact.add(repr(data)[2:-1])
    if len(data) * 2 >= MIN_ENCODED:
        hexed.add(data.hex())
    for core in _base64_cores(data):
        if len(core) >= MIN_ENCODED:
            exact |= {core, core.replace("+", "-").replace("/", "_")}
    return {form for form in exact if len(form) >= MIN_LENGTH}, hexed


def _parts(value: str) -> list[str | bytes]:
    """The secret, each long line of it, and the bytes of a PEM key's body."""
    parts: list[str | bytes] = [value]
    lines = [line.strip() for line in value.splitlines()]
    if len(lines) > 1:
        parts += [line for line in lines if len(line) >= MIN_LINE and not PEM_ARMOR.fullmatch(line)]
    body = "".join(line for line in lines if line and not PEM_ARMOR.fullmatch(line))
    if len(lines) > 2 and any(PEM_ARMOR.fullmatch(line) for line in lines):
        with contextlib.suppress(binascii.Error, ValueError):
            parts.append(base64.b64decode(body, validate=True))
    return parts


class Redactor:
    """Replaces the secrets it was given, and their encodings (see the module), with ``***``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        exact: set[str] = set()
        hexed: set[str] = set()
        for secret in secrets:
            if len(secret) < MIN_LENGTH:
                continue
            for part in _parts(secret):
                forms, hex_forms = _forms(part)
                exact |= forms
                hexed |= hex_forms
        patterns = [re.escape(form) for form in sorted(exact, key=len, reverse=True)]
        patterns += [f"(?i:{re.escape(form)})" for form in sorted(hexed, key=len, reverse=True)]
        self._pattern = re.compile("|".join(patterns)) if patterns else None

    def __bool__(self) -> bool:
        return self._pattern is not None

    def text(self, text: str) -> str:
        """``text`` with every secret form replaced, until none is left."""
        if self._pattern is None:
            return text
        while True:
            redacted = self._pattern.sub(MASK, text)
            if redacted == text:
                return redacted
            text = redacted

    def value(self, value: object) -> object:
        """``value`` (a JSON value: dicts, lists, strings...) with every string redacted."""
        if self._pattern is None:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(str(k)): self.value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(item) for item in value]
        return value
