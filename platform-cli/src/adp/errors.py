"""The one error vocabulary of ``adp``: every exception the platform raises derives from
:class:`AdpError`.

Invariant: a problem carries its location as data, never as text to parse. An error holds one or
more :class:`Problem` s, each with ``loc`` (the operation argument or the field path inside a
file), ``message`` (what is wrong) and ``fix`` (what to do); ``file`` and ``line`` when it is in a
file. Each front end renders ``loc`` in its own words: the CLI as its flag (``--bucket``), the MCP
server as the tool argument (``bucket``), the UI as the form field. No front end rewrites or
parses ``str(error)``. Likewise a problem's ``next_step`` (approve this commit, read the
status) is data that each front end says as its own command, tool or button.

Two kinds, which decide the exit code of the CLI:

- :class:`UsageError` (exit 2): the input or the settings are wrong; nothing was attempted and
  nothing changed. The caller fixes an argument, a variable or a file.
- :class:`Failure` (exit 1): the input was fine, the action was attempted and did not succeed
  (a store refused, a server failed, validation found errors).

Existing classes keep their historical builtin base next to these (``class X(UsageError,
ValueError)``), so callers that catch ``ValueError`` keep working.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict

Loc = tuple[str | int, ...]


class NextStep(BaseModel):
    """What to do next about a repository, as data: each front end says it in its own words
    (the CLI as ``adp repos approve NAME SHA``, the MCP server as its tool call, the UI as its
    button). ``commit`` None: the person picks one (a rollback's target)."""

    model_config = ConfigDict(frozen=True)

    action: Literal["approve", "rollback", "status", "sync"]
    repository: str
    commit: str | None = None


class Problem(BaseModel):
    """One thing wrong: where (``loc``, ``file``, ``line``), what, and what to do (``fix``)."""

    model_config = ConfigDict(frozen=True)

    message: str
    loc: Loc = ()
    fix: str | None = None
    file: str | None = None
    line: int | None = None
    # the next step as data (a front end renders it; ``text`` leaves it out)
    next_step: NextStep | None = None

    def where(self) -> str:
        """``file:line: a.b.c`` (the parts that are known), or ``""``."""
        parts: list[str] = []
        if self.file:
            parts.append(f"{self.file}:{self.line}" if self.line else self.file)
        if self.loc:
            parts.append(".".join(str(p) for p in self.loc))
        return ": ".join(parts)

    def text(self, loc_text: str | None = None) -> str:
        """The problem in one line; ``loc_text`` replaces the rendering of ``loc`` (a flag)."""
        where = (
            self.where()
            if loc_text is None
            else ": ".join(
                p for p in ((f"{self.file}:{self.line}" if self.line else self.file), loc_text) if p
            )
        )
        body = f"{where}: {self.message}" if where else self.message
        return f"{body} ({self.fix})" if self.fix else body


class AdpError(Exception):
    """Base of every ``adp`` exception. ``problems`` is never empty."""

    exit_code: int = 1

    def __init__(
        self,
        message: str | None = None,
        *,
        loc: Loc | str = (),
        fix: str | None = None,
        file: str | None = None,
        line: int | None = None,
        problems: Iterable[Problem] | None = None,
    ) -> None:
        listed = list(problems or ())
        if message is not None:
            if isinstance(loc, str):
                loc = (loc,)
            listed.insert(0, Problem(message=message, loc=loc, fix=fix, file=file, line=line))
        if not listed:
            listed = [Problem(message=type(self).__name__)]
        self.problems: list[Problem] = listed
        super().__init__(self._summary())

    def _summary(self) -> str:
        if len(self.problems) == 1:
            return self.problems[0].text()
        return f"{len(self.problems)} problems:\n  " + "\n  ".join(p.text() for p in self.problems)

    @property
    def message(self) -> str:
        return self.problems[0].message

    @property
    def loc(self) -> Loc:
        return self.problems[0].loc

    @property
    def fix(self) -> str | None:
        return self.problems[0].fix


class UsageError(AdpError):
    """The input or the settings are wrong; nothing was attempted, nothing changed (exit 2)."""

    exit_code = 2


class Failure(AdpError):
    """The action was attempted and did not succeed (exit 1)."""

    exit_code = 1


def problems_of(error: BaseException) -> Sequence[Problem]:
    """The problems of any exception: an :class:`AdpError`'s own, else its text as one."""
    if isinstance(error, AdpError):
        return error.problems
    return [Problem(message=str(error) or type(error).__name__)]
