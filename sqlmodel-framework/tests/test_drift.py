"""Schema drift between deploys (issue 11, item 6): a column added to (or dropped from) a
live table behind deploy()'s back. The write path never loses history silently (the
statement fails, naming the table and saying to run deploy()), and deploy() either brings
the history table and triggers up to date (the model declares the new column) or refuses,
naming the table and the column(s), and changes nothing."""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

import pytest
from sqlalchemy import Engine, MetaData, event, exc, text
from sqlmodel import Field
from sqlmodel_framework import (
    ReferenceTable,
    SchemaDriftError,
    TransactionalTable,
    as_of,
    deploy,
    sqlite_engine,
)


def schema_snapshot(engine: Engine) -> list[tuple]:
    """The schema's objects and their definitions (tables, columns, triggers, functions)."""
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            query = "SELECT type, name, sql FROM sqlite_master ORDER BY type, name"
            return [tuple(r) for r in connection.exec_driver_sql(query)]
        query = (
            "SELECT c.oid::text, c.relname, a.attname, NULL FROM pg_class c "
            "JOIN pg_attribute a ON a.attrelid = c.oid JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND a.attnum > 0 "
            "UNION ALL SELECT t.oid::text, t.tgname, t.tgenabled::text, NULL FROM pg_trigger t "
            "WHERE NOT t.tgisinternal UNION ALL SELECT p.oid::text, p.proname, NULL, p.prosrc "
            "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = 'public' ORDER BY 1, 2, 3"
        )
        return [tuple(r) for r in connection.exec_driver_sql(query)]


class DrItem(ReferenceTable, table=True):
    """Version 1 of the model, as first deployed."""

    __tablename__ = "dr_item"
    item_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    name: str


class DrItemV2(ReferenceTable, table=True):
    """Version 2 of the same table: the model gained ``note`` (its own MetaData, since two
    classes cannot map one table name in one MetaData)."""

    __tablename__ = "dr_item"
    metadata: ClassVar[MetaData] = MetaData()
    item_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    name: str
    note: str | None = None


class DrFact(TransactionalTable, table=True):
    """No history, but its stamps depend on the column list too."""

    __tablename__ = "dr_fact"
    fact_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    amount: int


def run(engine: Engine, sql: str) -> None:
    with engine.begin() as connection:
        connection.execute(text(sql))


def history_rows(engine: Engine, columns: str = "*") -> list[tuple]:
    query = f"SELECT {columns} FROM dr_item_history ORDER BY history_id"
    with engine.connect() as connection:
        return [tuple(r) for r in connection.execute(text(query))]


def drifted(engine: Engine) -> Engine:
    """dr_item deployed with version 1, one row, then ``note`` added behind deploy's back."""
    deploy(engine, [DrItem])
    run(engine, "INSERT INTO dr_item (item_id, name) VALUES (1, 'Ada')")
    run(engine, "ALTER TABLE dr_item ADD COLUMN note VARCHAR(50)")
    return engine


WRITES = [
    "INSERT INTO dr_item (item_id, name, note) VALUES (2, 'Bob', 'new')",
    "UPDATE dr_item SET note = 'lost?'",
    "UPDATE dr_item SET name = 'Ada L.', note = 'lost?'",
    "INSERT INTO dr_item (item_id, name) VALUES (1, 'Ada') "
    "ON CONFLICT (item_id) DO UPDATE SET note = 'lost?'",
    "DELETE FROM dr_item",
]


@pytest.mark.parametrize("statement", WRITES)
def test_a_write_after_an_added_column_fails_instead_of_losing_history(
    engine: Engine, statement: str
) -> None:
    drifted(engine)
    with pytest.raises(exc.DBAPIError, match=r"table dr_item.*run deploy\(\)") as caught:
        run(engine, statement)
    assert "sqlmodel_framework" in str(caught.value)
    assert history_rows(engine) == []
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT name, note FROM dr_item")).all()
    assert [tuple(r) for r in rows] == [("Ada", None)]


def test_a_table_without_history_refuses_inserts_and_updates_after_drift(engine: Engine) -> None:
    """Its stamps (systime, updated_at) would not follow a change of the new column."""
    deploy(engine, [DrFact])
    run(engine, "INSERT INTO dr_fact (fact_id, amount) VALUES (1, 10)")
    run(engine, "ALTER TABLE dr_fact ADD COLUMN source VARCHAR(20)")
    with pytest.raises(exc.DBAPIError, match=r"table dr_fact.*stamps.*run deploy\(\)"):
        run(engine, "UPDATE dr_fact SET source = 'x'")
    with pytest.raises(exc.DBAPIError, match=r"table dr_fact.*run deploy\(\)"):
        run(engine, "INSERT INTO dr_fact (fact_id, amount) VALUES (2, 20)")
    run(engine, "DELETE FROM dr_fact")  # deleting keeps no history here: nothing to lose


def test_deploy_refuses_a_live_column_the_model_lacks_and_changes_nothing(engine: Engine) -> None:
    drifted(engine)
    before = schema_snapshot(engine)
    with pytest.raises(
        SchemaDriftError, match=r"table 'dr_item' has column\(s\) note that model DrItem"
    ):
        deploy(engine, [DrItem])
    assert schema_snapshot(engine) == before


def test_deploy_brings_history_and_triggers_up_to_date_after_a_migration(engine: Engine) -> None:
    """The documented workflow: the model gains a field, a migration adds the column to the
    live table, deploy() adds it to the history table and regenerates the triggers."""
    drifted(engine)
    report = deploy(engine, [DrItemV2])
    assert report.actions[0] == "added column(s) note to history table dr_item_history"
    assert len(report.actions) > 1, report.actions  # the triggers were regenerated
    assert deploy(engine, [DrItemV2]).actions == []
    run(engine, "UPDATE dr_item SET note = 'first'")
    time.sleep(0.02)  # SQLite stamps whole milliseconds
    moment = datetime.now(UTC)
    time.sleep(0.02)
    run(engine, "UPDATE dr_item SET note = 'second'")
    assert history_rows(engine, "note") == [(None,), ("first",)]
    assert [r.note for r in as_of(engine, DrItemV2, moment)] == ["first"]
    run(engine, "DELETE FROM dr_item")
    assert history_rows(engine, "note, operation") == [(None, "U"), ("first", "U"), ("second", "D")]


def test_a_dropped_column_is_refused_by_the_write_path_and_by_deploy(engine: Engine) -> None:
    deploy(engine, [DrItemV2])
    run(engine, "INSERT INTO dr_item (item_id, name, note) VALUES (1, 'Ada', 'n')")
    if engine.dialect.name == "sqlite":
        # SQLite itself refuses to drop a column the triggers use.
        with pytest.raises(exc.OperationalError, match="adp_dr_item_"):
            run(engine, "ALTER TABLE dr_item DROP COLUMN note")
        return
    run(engine, "ALTER TABLE dr_item DROP COLUMN note")
    with pytest.raises(exc.DBAPIError, match=r"table dr_item.*missing: note.*run deploy\(\)"):
        run(engine, "UPDATE dr_item SET name = 'Ada L.'")
    with pytest.raises(SchemaDriftError, match=r"'dr_item' lacks column\(s\) note"):
        deploy(engine, [DrItemV2])
    # The model drops the field too: deploy regenerates the triggers; the history table keeps
    # the column (NULL in the versions written from now on: the live values are gone).
    assert deploy(engine, [DrItem]).changed
    run(engine, "UPDATE dr_item SET name = 'Ada L.'")
    assert history_rows(engine, "name, note") == [("Ada", None)]


def test_the_sqlite_guard_works_with_trusted_schema_off(tmp_path: Path) -> None:
    """The SQLite guard reads sqlite_master (a table), not pragma_table_info (a virtual
    table, which SQLite refuses inside triggers when trusted_schema is OFF)."""
    engine = sqlite_engine(tmp_path / "hardened.sqlite")

    @event.listens_for(engine, "connect")
    def harden(dbapi_connection: sqlite3.Connection, record: object) -> None:
        dbapi_connection.execute("PRAGMA trusted_schema = OFF")

    try:
        deploy(engine, [DrItem])
        run(engine, "INSERT INTO dr_item (item_id, name) VALUES (1, 'Ada')")
        run(engine, "UPDATE dr_item SET name = 'Ada L.'")
        assert len(history_rows(engine)) == 1
        run(engine, "ALTER TABLE dr_item ADD COLUMN note VARCHAR(50)")
        with pytest.raises(exc.DBAPIError, match=r"table dr_item.*run deploy\(\)"):
            run(engine, "UPDATE dr_item SET note = 'x'")
    finally:
        engine.dispose()
