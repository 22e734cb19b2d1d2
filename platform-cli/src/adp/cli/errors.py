"""The one place the `adp` command turns an :class:`~adp.errors.AdpError` into text and an exit
code.

Invariant: a command never prints its own error. It lets the library's ``AdpError`` (or one it
raises itself, for a bad option) propagate; :class:`AdpGroup`, the root group of the app, catches
it, prints each problem on stderr as ``error: <where>: <message> (<fix>)`` and exits with
``error.exit_code`` (2 usage, 1 failure). ``<where>`` is ``file:line: field`` when the problem is
in a file, else the command's parameter the ``loc`` names, as the user types it: its option
(``("json_out",)`` -> ``--json``) or its argument's name (``NAME``); a name that is no parameter
of the command is written as an option (``("image_tag",)`` -> ``--image-tag``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from adp.errors import AdpError, Loc, Problem

PREFIX = "error:"
# An operation's argument (a Python parameter name); anything else (a variable such as
# IMAGE_REGISTRY, a path) is shown as written.
ARGUMENT_RE = re.compile(r"[a-z][a-z0-9_]*")


def option_name(name: str) -> str:
    """The command-line option of the argument ``name``: ``image_tag`` -> ``--image-tag``."""
    return "--" + name.replace("_", "-")


def loc_text(loc: Loc, options: Mapping[str, str] | None = None) -> str | None:
    """``loc`` in the CLI's words: its head as the option (``options`` overrides the derived
    name, for an argument or a short name), the rest as ``.field`` or ``[index]``; None when
    the head is not an argument's name (the plain ``a.b`` rendering then applies)."""
    if not loc or not isinstance(loc[0], str):
        return None
    head = loc[0]
    if options and head in options:
        name = options[head]
    elif ARGUMENT_RE.fullmatch(head):
        name = option_name(head)
    else:
        return None
    return name + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc[1:])


def problem_text(problem: Problem, options: Mapping[str, str] | None = None) -> str:
    """One problem as the CLI prints it, without the prefix: in a file, ``file:line: field:
    message``; otherwise ``--option: message``; then `` (fix)`` when there is one."""
    if problem.file:
        return problem.text()
    return problem.text(loc_text(problem.loc, options))


def render(error: AdpError, options: Mapping[str, str] | None = None) -> list[str]:
    """The lines printed for ``error``: one per problem, each starting with ``error:``."""
    return [f"{PREFIX} {problem_text(problem, options)}" for problem in error.problems]


Command = TyperCommand | TyperGroup


def parameter_names(command: Command) -> dict[str, str]:
    """Each parameter of ``command`` as the user types it: ``json_out`` -> ``--json`` (its
    longest option), ``name`` -> ``NAME`` (an argument: its metavar, else its name in capitals,
    as the help shows it)."""
    names: dict[str, str] = {}
    for param in command.params:
        if not param.name:
            continue
        if isinstance(param, TyperOption) and param.opts:
            names[param.name] = max(param.opts, key=len)
        elif isinstance(param, TyperArgument):
            names[param.name] = param.metavar or param.name.upper()
    return names


def _command_of(error: BaseException) -> Command | None:
    """The command that was running when ``error`` was raised: the ``self`` of the innermost
    ``invoke(self, ctx)`` of a command on its way, None outside of one."""
    found = None
    frame = error.__traceback__
    while frame is not None:
        local = frame.tb_frame.f_locals
        if isinstance(local.get("self"), TyperCommand | TyperGroup) and "ctx" in local:
            found = local["self"]
        frame = frame.tb_next
    return found


def report(error: AdpError, command: Command | None = None) -> None:
    """Print ``error`` on stderr (the prefix in red on a terminal), ``loc`` in the words of
    ``command``'s parameters."""
    for line in render(error, parameter_names(command) if command is not None else None):
        body = line.removeprefix(PREFIX)
        typer.echo(typer.style(PREFIX, fg="red", bold=True) + body, err=True)


class AdpGroup(TyperGroup):
    """The root group of `adp`: every sub-command runs under it, so an ``AdpError`` from any of
    them is reported here, once, in one format."""

    def invoke(self, ctx: Any) -> Any:  # typer's Context base is private (typer._click)
        try:
            return super().invoke(ctx)
        except AdpError as error:
            report(error, _command_of(error))
            raise typer.Exit(error.exit_code) from None
