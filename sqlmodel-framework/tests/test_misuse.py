"""Misuses of the public API get the framework's own error, naming the model (and the field
where there is one) and the fix, instead of a raw SQLAlchemy or Python error (issue 11, item
8). Each case runs against SQLite and PostgreSQL; definition-time cases fail at the class
statement, before any database is involved."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, ClassVar

import pytest
from sqlalchemy import (
    JSON,
    Column,
    Engine,
    MetaData,
    PrimaryKeyConstraint,
    String,
    create_mock_engine,
    text,
)
from sqlmodel import Field, Session, SQLModel
from sqlmodel_framework import (
    HistoryNotEnabledError,
    MissingPrimaryKeyError,
    ModelDefinitionError,
    ReferenceTable,
    ReservedColumnError,
    TransactionalTable,
    UnsupportedDialectError,
    as_of,
    deploy,
    history_table,
    postgres_engine,
    sqlite_engine,
)
from sqlmodel_framework.errors import (
    DatabaseConnectionError,
    DuplicateTableError,
    FrameworkError,
    InvalidArgumentError,
    MissingReferenceError,
    MissingSchemaError,
    NotATableError,
    TableNotDeployedError,
    UnsupportedColumnTypeError,
)


def unique() -> str:
    """A table name no other case (or other database run) uses."""
    return f"mu_{uuid.uuid4().hex[:10]}"


class MuAccount(ReferenceTable, table=True):
    __tablename__ = "mu_account"
    account_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    name: str


class MuEntry(TransactionalTable, table=True):
    __tablename__ = "mu_entry"
    entry_id: int = Field(primary_key=True)
    amount: int


class MuDraft(ReferenceTable):
    """Not a table: table=True is missing."""

    draft_id: int = Field(primary_key=True)


NOW = datetime(2026, 1, 1, tzinfo=UTC)

# ---- definition time -------------------------------------------------------------------


def no_primary_key(engine: Engine) -> None:
    class MuNoKey(ReferenceTable, table=True):
        __tablename__ = unique()
        label: str


def field_named_systime(engine: Engine) -> None:
    class MuStamped(ReferenceTable, table=True):
        __tablename__ = unique()
        stamped_id: int = Field(primary_key=True)
        systime: str


def field_named_like_a_stamp_in_another_case(engine: Engine) -> None:
    class MuCased(ReferenceTable, table=True):
        __tablename__ = unique()
        cased_id: int = Field(primary_key=True)
        Created_At: str  # SQLite: the same column as created_at


def field_named_like_a_history_column(engine: Engine) -> None:
    class MuEnded(ReferenceTable, table=True):
        __tablename__ = unique()
        ended_id: int = Field(primary_key=True)
        valid_to: datetime


def field_whose_column_is_renamed_to_a_stamp(engine: Engine) -> None:
    class MuWho(ReferenceTable, table=True):
        __tablename__ = unique()
        who_id: int = Field(primary_key=True)
        who: str = Field(sa_column_kwargs={"name": "changed_by"})


def sa_column_named_like_a_stamp(engine: Engine) -> None:
    class MuWhen(ReferenceTable, table=True):
        __tablename__ = unique()
        when_id: int = Field(primary_key=True)
        when: str = Field(sa_column=Column("systime", String(20)))


def field_hiding_is_active(engine: Engine) -> None:
    class MuActive(ReferenceTable, table=True):
        __tablename__ = unique()
        active_id: int = Field(primary_key=True)
        is_active: bool = True


def primary_key_on_a_stamp(engine: Engine) -> None:
    class MuStampKey(ReferenceTable, table=True):
        __tablename__ = unique()
        __table_args__ = (PrimaryKeyConstraint("systime"),)
        code: str


def primary_key_on_an_unknown_column(engine: Engine) -> None:
    class MuTypoKey(ReferenceTable, table=True):
        __tablename__ = unique()
        __table_args__ = (PrimaryKeyConstraint("cdoe"),)
        code: str


def field_of_type_list(engine: Engine) -> None:
    class MuTagged(ReferenceTable, table=True):
        __tablename__ = unique()
        tagged_id: int = Field(primary_key=True)
        tags: list[str]


def field_of_type_dict(engine: Engine) -> None:
    class MuSettings(TransactionalTable, table=True):
        __tablename__ = unique()
        settings_id: int = Field(primary_key=True)
        options: dict[str, int]


def field_of_type_any(engine: Engine) -> None:
    class MuLoose(ReferenceTable, table=True):
        __tablename__ = unique()
        loose_id: int = Field(primary_key=True)
        payload: Any


def column_name_too_long(engine: Engine) -> None:
    class MuWide(ReferenceTable, table=True):
        __tablename__ = unique()
        wide_id: int = Field(primary_key=True)
        label: str = Field(sa_column_kwargs={"name": "label_" + "x" * 60})


def columns_differing_only_in_case(engine: Engine) -> None:
    class MuTwins(ReferenceTable, table=True):
        __tablename__ = unique()
        twins_id: int = Field(primary_key=True)
        code: str
        Code: str


def table_name_not_a_string(engine: Engine) -> None:
    class MuNumbered(ReferenceTable, table=True):
        __tablename__ = 42  # type: ignore[assignment]
        numbered_id: int = Field(primary_key=True)


def history_flag_not_a_bool(engine: Engine) -> None:
    class MuAudited(TransactionalTable, table=True):
        __tablename__ = unique()
        __history__ = "yes"  # type: ignore[assignment]
        audited_id: int = Field(primary_key=True)


def table_defined_twice(engine: Engine) -> None:
    class MuAccountAgain(ReferenceTable, table=True):
        __tablename__ = "mu_account"
        account_id: int = Field(primary_key=True)


# ---- as_of, history_table ----------------------------------------------------------------


def deployed(engine: Engine) -> Engine:
    deploy(engine, [MuAccount, MuEntry])
    return engine


def as_of_with_a_string_time(engine: Engine) -> None:
    as_of(deployed(engine), MuAccount, "2026-01-01")  # type: ignore[arg-type]


def as_of_with_a_date(engine: Engine) -> None:
    as_of(deployed(engine), MuAccount, date(2026, 1, 1))  # type: ignore[arg-type]


def as_of_with_no_time(engine: Engine) -> None:
    as_of(deployed(engine), MuAccount, None)  # type: ignore[arg-type]


def as_of_on_a_table_without_history(engine: Engine) -> None:
    as_of(deployed(engine), MuEntry, NOW)


def as_of_on_a_class_without_table_true(engine: Engine) -> None:
    as_of(engine, MuDraft, NOW)


def as_of_on_an_instance(engine: Engine) -> None:
    as_of(deployed(engine), MuAccount(account_id=1, name="x"), NOW)  # type: ignore[type-var]


def as_of_on_a_table_object(engine: Engine) -> None:
    as_of(deployed(engine), MuAccount.__table__, NOW)  # type: ignore[arg-type]


def as_of_before_deploy(engine: Engine) -> None:
    as_of(engine, MuAccount, NOW)


def as_of_with_a_url_instead_of_an_engine(engine: Engine) -> None:
    as_of(str(engine.url), MuAccount, NOW)  # type: ignore[arg-type]


def history_table_of_a_class_without_table_true(engine: Engine) -> None:
    history_table(MuDraft)


def inactivate_with_a_string(engine: Engine) -> None:
    MuAccount(account_id=1, name="x").inactivate("yesterday")  # type: ignore[arg-type]


# ---- deploy --------------------------------------------------------------------------------


def deploy_a_class_without_table_true(engine: Engine) -> None:
    deploy(engine, [MuAccount, MuDraft])


def deploy_a_single_model_not_a_list(engine: Engine) -> None:
    deploy(engine, MuAccount)  # type: ignore[arg-type]


def deploy_through_a_session(engine: Engine) -> None:
    with Session(engine) as session:
        deploy(session, [MuAccount])  # type: ignore[arg-type]


def deploy_to_a_url_string(engine: Engine) -> None:
    deploy(str(engine.url), [MuAccount])  # type: ignore[arg-type]


def deploy_to_an_unsupported_dialect(engine: Engine) -> None:
    deploy(create_mock_engine("mysql://", lambda *a, **kw: None), [MuAccount])  # type: ignore[arg-type]


def deploy_a_foreign_key_to_an_undefined_table(engine: Engine) -> None:
    class MuOrphan(ReferenceTable, table=True):
        __tablename__ = unique()
        metadata: ClassVar[MetaData] = MetaData()
        orphan_id: int = Field(primary_key=True)
        parent_id: int = Field(foreign_key="mu_nowhere.parent_id")

    deploy(engine, [MuOrphan])


def deploy_a_foreign_key_to_an_undeployed_table(engine: Engine) -> None:
    class MuLine(TransactionalTable, table=True):
        __tablename__ = unique()
        line_id: int = Field(primary_key=True)
        account_id: int = Field(foreign_key="mu_account.account_id")

    deploy(engine, [MuLine])  # without MuAccount, which the database lacks


def deploy_into_a_missing_schema(engine: Engine) -> None:
    class MuElsewhere(ReferenceTable, table=True):
        __tablename__ = unique()
        __table_args__ = {"schema": "mu_missing"}  # noqa: RUF012
        elsewhere_id: int = Field(primary_key=True)

    deploy(engine, [MuElsewhere])


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def deploy_to_an_unreachable_database(engine: Engine) -> None:
    if engine.dialect.name == "sqlite":
        target = sqlite_engine("/nonexistent-directory/db.sqlite")
    else:
        target = postgres_engine(host="127.0.0.1", port=closed_port(), database="x", user="x")
    try:
        deploy(target, [MuAccount])
    finally:
        target.dispose()


Case = tuple[Callable[[Engine], None], type[FrameworkError], tuple[str, ...]]

CASES: dict[str, Case] = {
    # definition time: (misuse, error class, what the message must name)
    "no primary key": (no_primary_key, MissingPrimaryKeyError, ("MuNoKey", "primary_key=True")),
    "field named systime": (field_named_systime, ReservedColumnError, ("MuStamped", "systime")),
    "stamp name in another case": (
        field_named_like_a_stamp_in_another_case,
        ReservedColumnError,
        ("MuCased", "Created_At"),
    ),
    "history column name": (
        field_named_like_a_history_column,
        ReservedColumnError,
        ("MuEnded", "valid_to"),
    ),
    "column renamed to a stamp": (
        field_whose_column_is_renamed_to_a_stamp,
        ReservedColumnError,
        ("MuWho", "'who'", "changed_by"),
    ),
    "sa_column named like a stamp": (
        sa_column_named_like_a_stamp,
        ReservedColumnError,
        ("MuWhen", "'when'", "systime"),
    ),
    "field hiding is_active": (
        field_hiding_is_active,
        ReservedColumnError,
        ("MuActive", "'is_active'"),
    ),
    "primary key on a stamp": (
        primary_key_on_a_stamp,
        ReservedColumnError,
        ("MuStampKey", "systime"),
    ),
    "primary key on an unknown column": (
        primary_key_on_an_unknown_column,
        ModelDefinitionError,
        ("MuTypoKey", "'cdoe'"),
    ),
    "list field": (field_of_type_list, UnsupportedColumnTypeError, ("MuTagged", "'tags'", "JSON")),
    "dict field": (
        field_of_type_dict,
        UnsupportedColumnTypeError,
        ("MuSettings", "'options'", "sa_type"),
    ),
    "Any field": (field_of_type_any, UnsupportedColumnTypeError, ("MuLoose", "'payload'")),
    "column name too long": (
        column_name_too_long,
        ModelDefinitionError,
        ("MuWide", "'label'", "at most 63"),
    ),
    "columns differing in case": (
        columns_differing_only_in_case,
        ModelDefinitionError,
        ("MuTwins", "'code'", "'Code'"),
    ),
    "table name not a string": (
        table_name_not_a_string,
        ModelDefinitionError,
        ("MuNumbered", "__tablename__"),
    ),
    "history flag not a bool": (
        history_flag_not_a_bool,
        ModelDefinitionError,
        ("MuAudited", "__history__"),
    ),
    "table defined twice": (
        table_defined_twice,
        DuplicateTableError,
        ("MuAccountAgain", "MuAccount", "mu_account"),
    ),
    # as_of, history_table, inactivate
    "as_of with a string": (
        as_of_with_a_string_time,
        InvalidArgumentError,
        ("MuAccount", "at must be a datetime", "fromisoformat"),
    ),
    "as_of with a date": (as_of_with_a_date, InvalidArgumentError, ("MuAccount", "date")),
    "as_of with None": (as_of_with_no_time, InvalidArgumentError, ("MuAccount", "NoneType")),
    "as_of without history": (
        as_of_on_a_table_without_history,
        HistoryNotEnabledError,
        ("MuEntry", "mu_entry", "__history__ = True"),
    ),
    "as_of on a non-table class": (
        as_of_on_a_class_without_table_true,
        NotATableError,
        ("MuDraft", "table=True"),
    ),
    "as_of on an instance": (as_of_on_an_instance, InvalidArgumentError, ("MuAccount", "class")),
    "as_of on a Table": (as_of_on_a_table_object, InvalidArgumentError, ("mu_account",)),
    "as_of before deploy": (
        as_of_before_deploy,
        TableNotDeployedError,
        ("MuAccount", "mu_account_history", "deploy("),
    ),
    "as_of with a URL": (
        as_of_with_a_url_instead_of_an_engine,
        InvalidArgumentError,
        ("Engine", "engine_from_url"),
    ),
    "history_table of a non-table class": (
        history_table_of_a_class_without_table_true,
        NotATableError,
        ("MuDraft", "table=True"),
    ),
    "inactivate with a string": (
        inactivate_with_a_string,
        InvalidArgumentError,
        ("MuAccount", "inactivated_at"),
    ),
    # deploy
    "deploy a non-table class": (
        deploy_a_class_without_table_true,
        NotATableError,
        ("MuDraft", "table=True"),
    ),
    "deploy a single model": (
        deploy_a_single_model_not_a_list,
        InvalidArgumentError,
        ("MuAccount", "[MuAccount]"),
    ),
    "deploy through a Session": (
        deploy_through_a_session,
        InvalidArgumentError,
        ("Session", "session.connection()"),
    ),
    "deploy to a URL string": (deploy_to_a_url_string, InvalidArgumentError, ("engine_from_url",)),
    "deploy to an unsupported dialect": (
        deploy_to_an_unsupported_dialect,
        UnsupportedDialectError,
        ("mu_account", "mysql"),
    ),
    "foreign key to an undefined table": (
        deploy_a_foreign_key_to_an_undefined_table,
        MissingReferenceError,
        ("MuOrphan", "'parent_id'", "mu_nowhere"),
    ),
    "foreign key to an undeployed table": (
        deploy_a_foreign_key_to_an_undeployed_table,
        MissingReferenceError,
        ("MuLine", "'account_id'", "mu_account"),
    ),
    "missing schema": (
        deploy_into_a_missing_schema,
        MissingSchemaError,
        ("MuElsewhere", "mu_missing"),
    ),
    "unreachable database": (
        deploy_to_an_unreachable_database,
        DatabaseConnectionError,
        ("MuAccount", "cannot connect"),
    ),
}


#: Cases that define a valid model run once per database: the second class of the same name
#: replaces the first in SQLAlchemy's name lookup (harmless here). Pydantic warns of a field
#: shadowing ReferenceTable.is_active before the framework refuses it.
QUIET = [
    pytest.mark.filterwarnings("ignore:This declarative base already contains"),
    pytest.mark.filterwarnings('ignore:Field name "is_active"'),
]


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
@QUIET[0]
@QUIET[1]
def test_misuse_gets_the_frameworks_error_naming_model_and_field(engine: Engine, case: str) -> None:
    misuse, error, names = CASES[case]
    with pytest.raises(FrameworkError) as caught:
        misuse(engine)
    assert type(caught.value) is error, f"{type(caught.value).__name__}: {caught.value}"
    message = str(caught.value)
    for name in names:
        assert name in message, f"{name!r} not in: {message}"
    assert caught.value.__class__.__module__ == "sqlmodel_framework.errors"


@QUIET[0]
def test_the_database_is_left_unchanged_by_a_refused_foreign_key(engine: Engine) -> None:
    with pytest.raises(MissingReferenceError):
        deploy_a_foreign_key_to_an_undeployed_table(engine)
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            query = "SELECT count(*) FROM sqlite_master"
        else:
            query = "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace"
        assert connection.execute(text(query)).scalar_one() == 0


class MuOrder(ReferenceTable, table=True):
    """SQL reserved words as table and column names need no error: they are quoted."""

    __tablename__ = "order"
    order_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    select: str
    options: dict[str, int] | None = Field(default=None, sa_type=JSON)


def test_reserved_words_as_names_deploy_and_keep_history(engine: Engine) -> None:
    assert deploy(engine, [MuOrder]).changed
    assert deploy(engine, [MuOrder]).actions == []
    with Session(engine) as session:
        session.add(MuOrder(order_id=1, select="a", options={"x": 1}))
        session.commit()
    time.sleep(0.02)  # SQLite stamps whole milliseconds
    moment = datetime.now(UTC)
    time.sleep(0.02)
    with Session(engine) as session:
        row = session.get(MuOrder, 1)
        assert row is not None
        row.select = "b"
        session.commit()
    assert [(r.select, r.options) for r in as_of(engine, MuOrder, moment)] == [("a", {"x": 1})]
    SQLModel.metadata.drop_all(engine, tables=[MuOrder.__table__])
