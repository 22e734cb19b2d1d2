"""The errors the operations raise, on ``adp.errors``: every one names the operation argument
in ``loc`` (snake_case, e.g. ``("sha",)``) and has changed nothing. Front ends render ``loc``
in their own words (CLI: the flag or the argument; MCP: the argument; UI: the field) and map
the class to their status (``NotFound``: the UI's 404)."""

from __future__ import annotations

from adp.errors import Failure, UsageError


class NotFound(UsageError):
    """The argument names nothing that exists (a repository, a package, a release)."""


class Refused(Failure):
    """The request was fine but cannot be carried out now (a commit not waiting for approval,
    a store that refused); nothing was changed."""


__all__ = ["Failure", "NotFound", "Refused", "UsageError"]
