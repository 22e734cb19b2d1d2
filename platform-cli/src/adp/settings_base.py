"""Settings read from environment variables, each declared once.

A component's settings are one :class:`AdpSettings` model: every field names its variable
(``validation_alias``), its default and its ``description``; pydantic-settings reads the
variables. A command line takes its flags' help and defaults from the same fields and passes the
flags it was given as keyword arguments, which win over the variables (:meth:`AdpSettings.load`).
Outside the settings modules no module of ``adp`` reads ``os.environ`` for a setting
(tests/settings/test_environ_reads.py keeps that so; process plumbing is allow-listed there).

Invariant: a missing or bad value raises the model's ``error_type`` (a :class:`UsageError`)
naming every problem at once, each with ``loc == (VARIABLE,)``, what is wrong and the fix; never
the value of a variable (it may be a secret: pydantic's messages do not hold it; only a
model's own validator may word a value it knows is no secret, as ADP_ENV's name check does).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, ClassVar, Self

from pydantic import ValidationError
from pydantic_core import PydanticUndefined
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from adp import pydantic_problems
from adp.errors import Loc, Problem, UsageError

# The mapping `load(environ)` reads instead of os.environ (None: os.environ), for this call only.
_ENVIRON: ContextVar[Mapping[str, str] | None] = ContextVar("adp_settings_environ", default=None)


class _EnvironSource(EnvSettingsSource):
    """pydantic-settings' own variable reader, over the mapping given to ``load`` if any
    (``_load_env_vars`` is the hook its dotenv source overrides too; the settings tests prove
    the mapping is read, against the pinned pydantic-settings)."""

    def _load_env_vars(self) -> Mapping[str, str | None]:
        environ = _ENVIRON.get()
        if environ is None:
            return super()._load_env_vars()
        return {
            (name if self.case_sensitive else name.lower()): value
            for name, value in environ.items()
            if not (self.env_ignore_empty and value == "")
        }


@contextmanager
def _reading(environ: Mapping[str, str] | None) -> Iterator[None]:
    token = _ENVIRON.set(environ)
    try:
        yield
    finally:
        _ENVIRON.reset(token)


class AdpSettings(BaseSettings):
    """Base of the settings models: every field has an upper-case ``validation_alias`` (its
    variable) and a ``description``; only variables and keyword arguments are read (no .env
    file, no secrets folder). An empty variable counts as unset unless a model says otherwise."""

    model_config = SettingsConfigDict(
        case_sensitive=True,
        env_ignore_empty=True,
        extra="forbid",
        populate_by_name=True,
        frozen=True,
    )
    error_type: ClassVar[type[UsageError]] = UsageError

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, _EnvironSource(settings_cls))

    @classmethod
    def load(
        cls,
        given: Mapping[str, Any] | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        flag: Callable[[str], str] | None = None,
    ) -> Self:
        """The settings from ``environ`` (default: this process's environment), each value of
        ``given`` (field -> a flag's value) that is not None winning over its variable; else
        ``error_type`` naming every missing or bad variable. ``flag`` (field -> its flag) makes
        the fixes name the flag too."""
        kwargs = {name: value for name, value in (given or {}).items() if value is not None}
        try:
            with _reading(environ):
                return cls(**kwargs)
        except ValidationError as error:
            raise cls.error_type(problems=settings_problems(cls, error, flag)) from None

    @classmethod
    def variable(cls, field: str) -> str:
        """The environment variable of ``field``."""
        alias = cls.model_fields[field].validation_alias
        if not isinstance(alias, str):
            raise TypeError(f"{cls.__name__}.{field} has no variable (validation_alias)")
        return alias

    @classmethod
    def field_of(cls, variable: str) -> str | None:
        """The field whose variable is ``variable`` (None if none)."""
        return next(
            (f for f, info in cls.model_fields.items() if info.validation_alias == variable), None
        )

    @classmethod
    def default_text(cls, field: str) -> str | None:
        """The default of ``field`` as text, or None (required, or no fixed default)."""
        default = cls.model_fields[field].default
        if default is PydanticUndefined or default is None:
            return None
        if isinstance(default, bool):
            return "true" if default else "false"
        return str(default)

    @classmethod
    def help(cls, field: str) -> str:
        """``description (VARIABLE, default D)``: the help of a flag that sets ``field``."""
        info = cls.model_fields[field]
        default = cls.default_text(field)
        tail = f", default {default}" if default is not None else ""
        return f"{info.description} ({cls.variable(field)}{tail})."


def settings_problems(
    model: type[AdpSettings], error: ValidationError, flag: Callable[[str], str] | None = None
) -> list[Problem]:
    """One Problem per error of ``error`` (through adp.pydantic_problems, the one formatter):
    ``loc`` the variable, the fix naming it (and ``flag(field)`` when given), never the value."""

    def field(item: Mapping[str, Any]) -> str | None:
        head = str(item["loc"][0]) if item["loc"] else ""
        return head if head in model.model_fields else model.field_of(head)

    def loc(item: Mapping[str, Any]) -> Loc:
        name = field(item)
        return (model.variable(name),) if name else tuple(item["loc"])

    def message(item: Mapping[str, Any]) -> str:
        if item["type"] == "missing":
            return "not set"
        if item["type"] == "value_error" and "error" in item.get("ctx", {}):
            return str(item["ctx"]["error"])  # a validator's own words, without "Value error, "
        return str(item["msg"])

    found = pydantic_problems.problems(error, message=message, loc=loc)
    return [problem.model_copy(update={"fix": _fix(model, problem, flag)}) for problem in found]


def _fix(
    model: type[AdpSettings], problem: Problem, flag: Callable[[str], str] | None
) -> str | None:
    name = model.field_of(str(problem.loc[0])) if problem.loc else None
    if name is None:
        return None
    variable = model.variable(name)
    description = str(model.model_fields[name].description)
    what = description[:1].lower() + description[1:]
    return f"{f'give {flag(name)} or {variable}' if flag else f'set {variable}'}: {what}"
