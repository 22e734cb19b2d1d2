"""Exceptions raised by sqlmodel_framework.

Every message names the table (or engine URL) concerned, says what is wrong and what to do.
"""

from __future__ import annotations


class FrameworkError(Exception):
    """Base class of every error raised by sqlmodel_framework."""


class ModelDefinitionError(FrameworkError, TypeError):
    """A table class is defined in a way the framework cannot map correctly."""


class MissingPrimaryKeyError(ModelDefinitionError):
    """A table class declares no primary key column."""


class TableInheritanceError(ModelDefinitionError):
    """A ``table=True`` class derives from another ``table=True`` class."""


class SharedColumnError(ModelDefinitionError):
    """A mixin hands the same ``Column`` object to several tables."""


class ReservedColumnError(ModelDefinitionError):
    """A table class redefines a column the framework manages itself."""


class HistoryNameClashError(ModelDefinitionError):
    """A table is named like another table's history table (``<table>_history``)."""


class UnsupportedDialectError(FrameworkError):
    """The database dialect is not one of sqlite, postgresql, mssql."""


class HistoryNotEnabledError(FrameworkError):
    """A history operation was asked of a table that keeps no history."""


class SchemaDriftError(FrameworkError):
    """An existing table in the target database lacks columns the model declares."""


class EngineConfigError(FrameworkError, ValueError):
    """Engine settings are inconsistent or incomplete (no secret is ever included)."""
