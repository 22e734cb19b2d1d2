"""History and as-of work for the column types datakits use, including PostgreSQL native
enums (whose type the history table shares with its table)."""

from __future__ import annotations

import enum
import time
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Engine, Numeric, text
from sqlalchemy.types import UserDefinedType
from sqlmodel import Field, Session, SQLModel
from sqlmodel_framework import ReferenceTable, as_of, deploy, history_table


class Tier(enum.Enum):
    bronze = "bronze"
    gold = "gold"


class TyAccount(ReferenceTable, table=True):
    __tablename__ = "ty_account"
    account_code: str = Field(primary_key=True, max_length=12)
    branch: int = Field(primary_key=True)
    tier: Tier
    opened_on: date
    balance: Decimal = Field(sa_type=Numeric(12, 2))
    active_flag: bool = True
    notes: str | None = None


def test_composite_key_enum_decimal_date_bool(engine: Engine) -> None:
    assert deploy(engine, [TyAccount]).changed
    assert deploy(engine, [TyAccount]).actions == []
    with Session(engine) as session:
        session.add(
            TyAccount(
                account_code="A-1", branch=7, tier=Tier.bronze, opened_on=date(2024, 2, 29),
                balance=Decimal("10.50"),
            )
        )  # fmt: skip
        session.add(
            TyAccount(
                account_code="A-1", branch=8, tier=Tier.bronze, opened_on=date(2024, 3, 1),
                balance=Decimal("1.00"),
            )
        )  # fmt: skip
        session.commit()
    time.sleep(0.02)
    before = datetime.now(UTC)
    time.sleep(0.02)
    with Session(engine) as session:
        account = session.get(TyAccount, ("A-1", 7))
        assert account is not None
        account.tier = Tier.gold
        account.balance = Decimal("99.99")
        account.active_flag = False
        session.commit()
    (old,) = [a for a in as_of(engine, TyAccount, before) if a.branch == 7]
    assert (old.tier, old.balance, old.active_flag) == (Tier.bronze, Decimal("10.50"), True)
    assert old.opened_on == date(2024, 2, 29)
    with engine.connect() as connection:
        rows = connection.execute(history_table(TyAccount).select()).mappings().all()
    assert [(r["account_code"], r["branch"], r["operation"]) for r in rows] == [("A-1", 7, "U")]
    SQLModel.metadata.drop_all(engine, tables=[TyAccount.__table__])
    assert deploy(engine, [TyAccount]).changed  # enum type and all, again
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM ty_account")).scalar() == 0


# ---- columns without an equality operator (issue 11, item 1) --------------------------------


class TyDocument(ReferenceTable, table=True):
    """PostgreSQL's json has no '=' operator; comparing whole rows failed every UPDATE."""

    __tablename__ = "ty_document"
    document_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    title: str
    body: dict = Field(sa_type=JSON)


def test_a_json_column_can_be_updated_and_keeps_history(engine: Engine) -> None:
    deploy(engine, [TyDocument])
    with Session(engine) as session:
        session.add(TyDocument(document_id=1, title="draft", body={"a": 1}))
        session.commit()
    time.sleep(0.02)
    before = datetime.now(UTC)
    time.sleep(0.02)
    with Session(engine) as session:
        document = session.get(TyDocument, 1)
        assert document is not None
        document.title = "final"  # another column: the row comparison still runs
        session.commit()
    with Session(engine) as session:
        document = session.get(TyDocument, 1)
        assert document is not None
        document.body = {"a": 2}  # the json column itself
        session.commit()
    (old,) = as_of(engine, TyDocument, before)
    assert (old.title, old.body) == ("draft", {"a": 1})
    with engine.connect() as connection:
        rows = connection.execute(history_table(TyDocument).select()).mappings().all()
    assert [(r["title"], r["body"]) for r in rows] == [("draft", {"a": 1}), ("final", {"a": 1})]


class _Native(UserDefinedType):
    cache_ok = True

    def __init__(self, name: str) -> None:
        self.name = name

    def get_col_spec(self, **kw: object) -> str:
        return self.name


class TyShape(ReferenceTable, table=True):
    __tablename__ = "ty_shape"
    shape_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    label: str
    spot: str = Field(sa_type=_Native("point"))
    markup: str = Field(sa_type=_Native("xml"))


def test_point_and_xml_columns_can_be_updated_on_postgresql(pg_engine: Engine) -> None:
    deploy(pg_engine, [TyShape])
    with Session(pg_engine) as session:
        session.add(TyShape(shape_id=1, label="a", spot="(1,2)", markup="<a/>"))
        session.commit()
    with Session(pg_engine) as session:
        shape = session.get(TyShape, 1)
        assert shape is not None
        shape.label = "b"
        session.commit()
        shape.spot = "(3,4)"
        session.commit()
    with pg_engine.connect() as connection:
        rows = connection.execute(
            text("SELECT label, spot::text FROM ty_shape_history ORDER BY history_id")
        )
        assert [tuple(r) for r in rows] == [("a", "(1,2)"), ("b", "(1,2)")]
