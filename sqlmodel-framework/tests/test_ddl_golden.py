"""Snapshot tests of the DDL the framework emits, per dialect, for a reference table and a
transactional table. SQL Server does not run here: its golden files are the reviewable record
of the temporal-table DDL (and the ``sqlserver`` test runs it when a server is given).

Regenerate after an intended change with ``ADP_UPDATE_GOLDEN=1 pytest ...`` and review the diff.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from adp_test_helpers.golden import update_requested
from sqlalchemy import create_mock_engine
from sqlalchemy.dialects import mssql
from sqlmodel import Field
from sqlmodel_framework import ReferenceTable, TransactionalTable, as_of_statement

GOLDEN = Path(__file__).parent / "golden"


class GdCustomer(ReferenceTable, table=True):
    """A reference table in its own schema, with a natural key."""

    __tablename__ = "gd_customer"
    __table_args__ = {"schema": "sales"}  # noqa: RUF012
    customer_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    name: str = Field(max_length=100)
    segment: str | None = Field(default=None, max_length=20, index=True)


class GdPayment(TransactionalTable, table=True):
    """A transactional table in the default schema."""

    __tablename__ = "gd_payment"
    payment_id: int = Field(primary_key=True)
    customer_id: int = Field(foreign_key="sales.gd_customer.customer_id")
    amount: float
    paid_at: datetime


MODELS = {"reference": GdCustomer, "transactional": GdPayment}


def ddl_script(dialect: str, model: Any) -> str:
    statements: list[str] = []
    engine = create_mock_engine(
        f"{dialect}://",
        lambda sql, *a, **kw: statements.append(str(sql.compile(dialect=engine.dialect)).strip()),
    )
    # Table-level (not metadata-level) DDL: independent of other tests' models.
    model.__table__.create(engine, checkfirst=False)
    model.__table__.drop(engine, checkfirst=False)
    return "".join(f"{s};\n\n" for s in statements)


def check_golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if update_requested():  # never under CI
        path.write_text(actual)
    assert path.exists(), f"{path} missing: run with ADP_UPDATE_GOLDEN=1 to create it"
    assert actual == path.read_text(), f"DDL differs from {path} (ADP_UPDATE_GOLDEN=1 to accept)"


@pytest.mark.parametrize("dialect", ["mssql", "postgresql", "sqlite"])
@pytest.mark.parametrize("kind", sorted(MODELS))
def test_ddl_matches_golden_file(dialect: str, kind: str) -> None:
    check_golden(f"{dialect}_{kind}_table.sql", ddl_script(dialect, MODELS[kind]))


def test_mssql_reference_table_is_system_versioned() -> None:
    script = ddl_script("mssql", GdCustomer)
    assert "systime DATETIME2 GENERATED ALWAYS AS ROW START NOT NULL" in script
    assert "valid_to DATETIME2 GENERATED ALWAYS AS ROW END HIDDEN NOT NULL" in script
    assert "PERIOD FOR SYSTEM_TIME (systime, valid_to)" in script
    assert "HISTORY_TABLE = sales.gd_customer_history" in script
    assert "TRIGGER" not in script.upper()
    # versioning must be switched off before the table can be dropped
    assert script.index("SYSTEM_VERSIONING = OFF") < script.index("DROP TABLE sales.gd_customer;")


def test_mssql_transactional_table_has_a_period_but_no_versioning() -> None:
    script = ddl_script("mssql", GdPayment)
    assert "PERIOD FOR SYSTEM_TIME" in script
    assert "SYSTEM_VERSIONING" not in script
    assert "gd_payment_history" not in script


def test_mssql_as_of_query_matches_golden_file() -> None:
    statement = as_of_statement(GdCustomer, datetime(2026, 1, 1, tzinfo=UTC), "mssql")
    check_golden("mssql_as_of.sql", str(statement.compile(dialect=mssql.dialect())) + "\n")
