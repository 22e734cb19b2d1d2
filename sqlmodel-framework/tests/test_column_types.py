"""History and as-of work for the column types datakits use, including PostgreSQL native
enums (whose type the history table shares with its table)."""

from __future__ import annotations

import enum
import time
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import Engine, Numeric, text
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
