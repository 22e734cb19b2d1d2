"""Pydantic validation errors as :class:`adp.errors.Problem` s: the one formatter of ``adp``.

Invariant: every item of a pydantic error (``ValidationError.errors()``, or the same list from
FastAPI's ``RequestValidationError``) becomes one :class:`~adp.errors.Problem` whose ``loc`` is
the item's location as data (a tuple of field names and list indexes, never text to parse) and
whose ``message`` is pydantic's ``msg`` unless the caller words it better. This module never
copies the input value into a problem (a value in the wrong field may be a credential); only a
caller's own wording may, for settings it knows hold no secret.

Rendering is separate (:func:`lines`, :func:`render`): ``loc: message``, the location dotted
(``jobs.0.image``) unless the caller renders it in its own words (a flag, a variable, an
option), and a word of the caller's for an empty location (``settings``, ``document``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from adp.errors import Loc, Problem

Item = Mapping[str, Any]


def _items(error: ValidationError | Iterable[Item]) -> list[Item]:
    return list(error.errors() if isinstance(error, ValidationError) else error)


def problems(
    error: ValidationError | Iterable[Item],
    *,
    message: Callable[[Item], str | None] | None = None,
    loc: Callable[[Item], Loc] | None = None,
    loc_prefix: Loc = (),
    file: str | None = None,
    limit: int | None = None,
) -> list[Problem]:
    """One problem per item of ``error``, in pydantic's order.

    ``message(item)``: the problem's wording (default: pydantic's ``msg``); ``None`` leaves
    the item out (one the caller reported otherwise). ``loc(item)``: the location (default:
    the item's own), after ``loc_prefix``. ``limit``: at most this many problems."""
    found: list[Problem] = []
    for item in _items(error):
        text = message(item) if message is not None else str(item.get("msg", "invalid"))
        if text is None:
            continue
        where = loc(item) if loc is not None else tuple(item.get("loc", ()))
        found.append(Problem(message=text, loc=(*loc_prefix, *where), file=file))
        if limit is not None and len(found) >= limit:
            break
    return found


def dotted(loc: Loc) -> str:
    """``a.0.b``: a location as pydantic prints it."""
    return ".".join(str(part) for part in loc)


def lines(
    found: Sequence[Problem],
    *,
    empty: str = "",
    loc_text: Callable[[Loc], str] = dotted,
    between: str = ": ",
) -> list[str]:
    """Each problem as ``<loc><between><message>``; ``empty`` stands for an empty location
    (no location and no ``empty``: the message alone)."""
    out = []
    for problem in found:
        where = loc_text(problem.loc) or empty
        out.append(f"{where}{between}{problem.message}" if where else problem.message)
    return out


def render(
    found: Sequence[Problem],
    *,
    empty: str = "",
    loc_text: Callable[[Loc], str] = dotted,
    between: str = ": ",
    sep: str = "; ",
) -> str:
    """:func:`lines` joined by ``sep``."""
    return sep.join(lines(found, empty=empty, loc_text=loc_text, between=between))


def first(error: ValidationError, *, empty: str = "") -> str:
    """``loc: message`` of the first problem of ``error``."""
    return render(problems(error, limit=1), empty=empty)
