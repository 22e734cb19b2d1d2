"""Runs against a real SQL Server when ``ADP_TEST_MSSQL_URL`` names one, e.g.
``mssql+pyodbc://@sql.example/adp_test?driver=ODBC+Driver+18+for+SQL+Server&Trusted_Connection=yes``.
Needs the ``mssql`` extra, an ODBC driver, and rights to create tables in schema ``dbo``."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlmodel import Field, Session, SQLModel, select
from sqlmodel_framework import ReferenceTable, TransactionalTable, as_of, deploy, engine_from_url

MSSQL_URL = os.environ.get("ADP_TEST_MSSQL_URL")


class SsCustomer(ReferenceTable, table=True):
    __tablename__ = "adp_test_ss_customer"
    __table_args__ = {"schema": "dbo"}  # noqa: RUF012
    customer_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    name: str = Field(max_length=100)


class SsPayment(TransactionalTable, table=True):
    __tablename__ = "adp_test_ss_payment"
    __table_args__ = {"schema": "dbo"}  # noqa: RUF012
    payment_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    amount: float


MODELS = [SsCustomer, SsPayment]


def tick() -> datetime:
    time.sleep(0.05)
    moment = datetime.now(UTC)
    time.sleep(0.05)
    return moment


@pytest.mark.sqlserver
@pytest.mark.skipif(not MSSQL_URL, reason="set ADP_TEST_MSSQL_URL to run against SQL Server")
def test_temporal_tables_on_sql_server() -> None:
    engine = engine_from_url(MSSQL_URL or "")
    tables = [m.__table__ for m in MODELS]
    SQLModel.metadata.drop_all(engine, tables=tables)
    try:
        assert deploy(engine, MODELS).changed
        assert deploy(engine, MODELS).actions == []
        with Session(engine) as session:
            session.add(SsCustomer(customer_id=1, name="Ada"))
            session.add(SsCustomer(customer_id=2, name="Bob"))
            session.add(SsPayment(payment_id=1, amount=5))
            session.commit()
        t1 = tick()
        with engine.begin() as connection:
            connection.execute(text(f"UPDATE dbo.{SsCustomer.__tablename__} SET name = 'Ada L.'"
                                    " WHERE customer_id = 1"))  # fmt: skip
            connection.execute(text(f"DELETE FROM dbo.{SsCustomer.__tablename__} "
                                    "WHERE customer_id = 2"))  # fmt: skip
            connection.execute(text(f"UPDATE dbo.{SsPayment.__tablename__} SET amount = 6"))
        t2 = tick()
        with engine.connect() as connection:
            history = connection.execute(
                text(f"SELECT count(*) FROM dbo.{SsCustomer.__tablename__}_history")
            ).scalar()
        assert history == 2
        assert {c.customer_id: c.name for c in as_of(engine, SsCustomer, t1)} == {
            1: "Ada",
            2: "Bob",
        }
        assert {c.customer_id: c.name for c in as_of(engine, SsCustomer, t2)} == {1: "Ada L."}
        with Session(engine) as session:
            payment = session.exec(select(SsPayment)).one()
            assert t1 < payment.systime < t2
            assert payment.changed_by
    finally:
        SQLModel.metadata.drop_all(engine, tables=tables)
        engine.dispose()
