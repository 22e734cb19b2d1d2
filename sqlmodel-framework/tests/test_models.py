"""Model definitions: many concrete tables from the same bases, and the definitions the
framework refuses with an error naming the table."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Column, Engine, String, create_mock_engine, inspect, text
from sqlmodel import Field, Session, SQLModel, select
from sqlmodel_framework import (
    HistoryNameClashError,
    HistoryNotEnabledError,
    MissingPrimaryKeyError,
    ModelDefinitionError,
    ReferenceTable,
    ReservedColumnError,
    SharedColumnError,
    TableInheritanceError,
    TransactionalTable,
    UnsupportedDialectError,
    as_of,
    as_of_statement,
    deploy,
    history_table,
)

STANDARD = ["created_at", "updated_at", "systime", "changed_by"]


class Dimension(ReferenceTable):
    """A project's own non-table base with shared fields, declared the safe way."""

    code: str = Field(max_length=20, index=True, sa_column_kwargs={"comment": "business key"})
    label: str | None = Field(default=None, sa_type=String(200))


class MdCountry(Dimension, table=True):
    __tablename__ = "md_country"
    country_id: int = Field(primary_key=True)


class MdCurrency(Dimension, table=True):
    __tablename__ = "md_currency"
    currency_id: int = Field(primary_key=True)
    minor_units: int = 2


class MdRegion(Dimension, table=True):
    __tablename__ = "md_region"
    region_id: int = Field(primary_key=True)


class MdOrder(TransactionalTable, table=True):
    __tablename__ = "md_order"
    order_id: int = Field(primary_key=True)
    amount: float


class MdShipment(TransactionalTable, table=True):
    __tablename__ = "md_shipment"
    shipment_id: int = Field(primary_key=True)
    order_id: int = Field(foreign_key="md_order.order_id")


class MdAudited(TransactionalTable, table=True):
    """A transactional table that opts into history."""

    __tablename__ = "md_audited"
    __history__ = True
    audited_id: int = Field(primary_key=True)
    state: str


DIMENSIONS = [MdCountry, MdCurrency, MdRegion]
ALL = [*DIMENSIONS, MdOrder, MdShipment, MdAudited]


def test_every_table_gets_its_own_column_objects() -> None:
    for name in [*STANDARD, "inactivated_at", "code", "label"]:
        columns = [model.__table__.c[name] for model in DIMENSIONS]
        assert len({id(c) for c in columns}) == len(DIMENSIONS), name
        assert [c.table for c in columns] == [m.__table__ for m in DIMENSIONS]
        defaults = [c.server_default for c in columns if c.server_default is not None]
        assert len({id(d) for d in defaults}) == len(defaults), name
    for name in STANDARD:
        assert MdOrder.__table__.c[name] is not MdShipment.__table__.c[name]


def test_standard_columns_follow_the_models_own_columns() -> None:
    assert list(MdCurrency.__table__.c.keys()) == [
        "code", "label", "currency_id", "minor_units", *STANDARD, "inactivated_at",
    ]  # fmt: skip
    assert list(MdOrder.__table__.c.keys()) == ["order_id", "amount", *STANDARD]
    assert "inactivated_at" not in MdOrder.__table__.c
    assert MdCountry.__table__.c.code.comment == "business key"
    assert MdCountry.__table__.c.code.index


def test_history_is_kept_for_reference_tables_and_on_request() -> None:
    for model in [*DIMENSIONS, MdAudited]:
        assert history_table(model).name == f"{model.__tablename__}_history"
    for model in (MdOrder, MdShipment):
        with pytest.raises(HistoryNotEnabledError, match=f"'{model.__tablename__}'"):
            history_table(model)


def test_many_tables_deploy_and_work_together(engine: Engine) -> None:
    report = deploy(engine, ALL)
    assert len([a for a in report.actions if a.startswith("created table")]) == len(ALL)
    names = set(inspect(engine).get_table_names())
    assert {m.__tablename__ for m in ALL} <= names
    assert {f"{m.__tablename__}_history" for m in [*DIMENSIONS, MdAudited]} <= names
    assert not {"md_order_history", "md_shipment_history"} & names
    with Session(engine) as session:
        for i, model in enumerate(DIMENSIONS, start=1):
            session.add(model(**{f"{model.__tablename__[3:]}_id": i, "code": f"C{i}"}))
        session.add(MdOrder(order_id=1, amount=9.5))
        session.add(MdShipment(shipment_id=1, order_id=1))
        session.add(MdAudited(audited_id=1, state="new"))
        session.commit()
    with engine.begin() as connection:
        for model in [*DIMENSIONS, MdAudited]:
            column = "state" if model is MdAudited else "code"
            connection.execute(text(f"UPDATE {model.__tablename__} SET {column} = 'changed'"))
        connection.execute(text("UPDATE md_order SET amount = 10"))
    with engine.connect() as connection:
        for model in [*DIMENSIONS, MdAudited]:
            count = connection.execute(text(f"SELECT count(*) FROM {model.__tablename__}_history"))
            assert count.scalar() == 1, model.__tablename__
    with Session(engine) as session:
        order = session.exec(select(MdOrder)).one()
        assert order.amount == 10 and order.systime > order.created_at


def test_transactional_table_has_no_as_of(engine: Engine) -> None:
    with pytest.raises(HistoryNotEnabledError, match="'md_order'"):
        as_of(engine, MdOrder, datetime.now(UTC))


def test_table_parent_swallowing_child_columns_is_refused() -> None:
    # Plain SQLModel maps a table=True child onto its table=True parent's table and silently
    # drops the child's own columns; the framework refuses, naming both tables.
    with pytest.raises(TableInheritanceError, match=r"'md_special_country'.*'md_country'"):

        class MdSpecialCountry(MdCountry, table=True):
            __tablename__ = "md_special_country"
            special: str

    assert "special" not in MdCountry.__table__.c


def test_plain_sqlmodel_really_swallows_child_columns() -> None:
    """The failure the check above prevents (documents why it exists)."""

    class PlainParent(SQLModel, table=True):
        __tablename__ = "md_plain_parent"
        id: int = Field(primary_key=True)

    class PlainChild(PlainParent, table=True):
        extra: str

    assert PlainChild.__table__ is PlainParent.__table__
    assert "extra" not in PlainParent.__table__.c


def test_shared_column_object_in_a_mixin_is_refused() -> None:
    class Noted(ReferenceTable):
        note: str | None = Field(default=None, sa_column=Column(String(50)))

    class MdFirstNoted(Noted, table=True):
        __tablename__ = "md_first_noted"
        id: int = Field(primary_key=True)

    with pytest.raises(SharedColumnError, match=r"'md_second_noted'.*'note'.*'md_first_noted'"):

        class MdSecondNoted(Noted, table=True):
            __tablename__ = "md_second_noted"
            id: int = Field(primary_key=True)


def test_table_without_primary_key_is_refused() -> None:
    with pytest.raises(MissingPrimaryKeyError, match=r"table 'md_no_key'.*primary_key=True"):

        class MdNoKey(ReferenceTable, table=True):
            __tablename__ = "md_no_key"
            name: str

    with pytest.raises(MissingPrimaryKeyError, match=r"table 'mdnokeyeither'"):

        class MdNoKeyEither(TransactionalTable, table=True):
            amount: float


def test_redefining_a_managed_column_is_refused() -> None:
    with pytest.raises(ReservedColumnError, match=r"table 'md_reserved'.*systime"):

        class MdReserved(ReferenceTable, table=True):
            __tablename__ = "md_reserved"
            id: int = Field(primary_key=True)
            systime: str


def test_redefining_a_managed_column_in_a_later_mixin_is_refused() -> None:
    class Stamped(SQLModel):
        updated_at: str | None = None

    with pytest.raises(ReservedColumnError, match=r"table 'md_reserved_mixin'.*updated_at"):

        class MdReservedMixin(ReferenceTable, Stamped, table=True):
            __tablename__ = "md_reserved_mixin"
            id: int = Field(primary_key=True)


def test_unsupported_dialect_is_refused_before_any_ddl() -> None:
    emitted: list[Any] = []
    mysql = create_mock_engine("mysql://", lambda sql, *a, **kw: emitted.append(sql))
    with pytest.raises(UnsupportedDialectError, match=r"table 'md_country'.*'mysql'"):
        SQLModel.metadata.create_all(mysql, tables=[MdCountry.__table__])
    assert emitted == []
    with pytest.raises(UnsupportedDialectError, match=r"table 'md_country'.*'mysql'"):
        deploy(mysql, [MdCountry])  # type: ignore[arg-type]
    assert emitted == []
    with pytest.raises(UnsupportedDialectError, match=r"table 'md_country'.*'oracle'"):
        as_of_statement(MdCountry, datetime.now(UTC), "oracle")


# ---- a table named like another table's history table (issue 11, item 2) ------------------


def test_a_table_named_like_a_history_table_is_refused_after_it() -> None:
    class MdAcct(ReferenceTable, table=True):
        __tablename__ = "md_acct"
        acct_id: int = Field(primary_key=True)

    with pytest.raises(
        HistoryNameClashError, match=r"'md_acct_history'.*history table of 'md_acct'"
    ):

        class MdAcctHistory(SQLModel, table=True):
            __tablename__ = "md_acct_history"
            entry_id: int = Field(primary_key=True)


def test_a_table_named_like_a_history_table_is_refused_before_it() -> None:
    class MdBcctHistory(TransactionalTable, table=True):
        __tablename__ = "md_bcct_history"
        entry_id: int = Field(primary_key=True)

    with pytest.raises(
        HistoryNameClashError, match=r"'md_bcct_history'.*history table of 'md_bcct'"
    ):

        class MdBcct(ReferenceTable, table=True):
            __tablename__ = "md_bcct"
            bcct_id: int = Field(primary_key=True)


class MdCcct(ReferenceTable, table=True):
    __tablename__ = "md_ccct"
    ccct_id: int = Field(primary_key=True)


def test_deploy_refuses_a_history_name_clash_across_metadata(engine: Engine) -> None:
    """Tables from another MetaData escape the definition check: deploy refuses them before
    changing anything."""
    from sqlalchemy import Integer, MetaData, Table

    other = Table("md_ccct_history", MetaData(), Column("entry_id", Integer, primary_key=True))
    with pytest.raises(HistoryNameClashError, match=r"'md_ccct_history'"):
        deploy(engine, [MdCcct, other])
    assert not inspect(engine).get_table_names()


# ---- names PostgreSQL accepts only when quoted, and long names (issue 11, item 8) -----------


class MdDollar(ReferenceTable, table=True):
    """A name holding the trigger bodies' own dollar-quote delimiter."""

    __tablename__ = "md_price$adp$eur"
    price_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    amount: int


LONGEST = "md_" + "x" * 60  # 63 characters: PostgreSQL's identifier limit


class MdLongest(ReferenceTable, table=True):
    __tablename__ = LONGEST
    long_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    amount: int


@pytest.mark.parametrize("model", [MdDollar, MdLongest], ids=["dollar", "63-characters"])
def test_quoted_and_longest_names_deploy_and_keep_history(engine: Engine, model: Any) -> None:
    deploy(engine, [model])
    assert deploy(engine, [model]).actions == []
    key = next(iter(model.__table__.primary_key.columns)).name
    with Session(engine) as session:
        session.add(model(**{key: 1, "amount": 1}))
        session.commit()
    with Session(engine) as session:
        row = session.get(model, 1)
        row.amount = 2
        session.commit()
    with engine.connect() as connection:
        rows = connection.execute(history_table(model).select()).mappings().all()
    assert [r["amount"] for r in rows] == [1]


def test_a_name_longer_than_postgresql_allows_is_refused_at_definition() -> None:
    with pytest.raises(ModelDefinitionError, match=r"65 characters.*at most 63"):

        class MdTooLong(ReferenceTable, table=True):
            __tablename__ = "md_" + "y" * 62
            long_id: int = Field(primary_key=True)
