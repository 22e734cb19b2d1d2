"""deploy(): creates tables, history tables and triggers; a second run changes nothing;
damaged triggers are repaired; bad input changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Engine, event, inspect, text
from sqlmodel import Field, SQLModel
from sqlmodel_framework import (
    ReferenceTable,
    SchemaDriftError,
    TransactionalTable,
    deploy,
    history_table,
)


class DpCustomer(ReferenceTable, table=True):
    __tablename__ = "dp_customer"
    customer_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    name: str


class DpInvoice(TransactionalTable, table=True):
    __tablename__ = "dp_invoice"
    invoice_id: int = Field(primary_key=True)
    customer_id: int = Field(foreign_key="dp_customer.customer_id")
    total: float


class DpDrift(ReferenceTable, table=True):
    __tablename__ = "dp_drift"
    drift_id: int = Field(primary_key=True)
    added_later: str | None = None


class DpLongName(ReferenceTable, table=True):
    """Its history table and trigger function names exceed PostgreSQL's 63 characters."""

    __tablename__ = "dp_" + "a_rather_long_table_name_for_a_dimension_" + "x" * 16
    long_id: int = Field(primary_key=True)
    label: str


MODELS = [DpCustomer, DpInvoice]


def schema_snapshot(engine: Engine) -> Any:
    """Everything that identifies the schema objects, including their internal ids."""
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            version = connection.exec_driver_sql("PRAGMA schema_version").scalar()
            objects = connection.exec_driver_sql(
                "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
            ).all()
            return version, objects
        return [
            connection.execute(text(query)).all()
            for query in (
                "SELECT c.oid, c.relname, c.relkind FROM pg_class c JOIN pg_namespace n "
                "ON n.oid = c.relnamespace WHERE n.nspname = 'public' ORDER BY c.relname",
                "SELECT t.oid, t.tgname, t.tgenabled, t.tgfoid FROM pg_trigger t "
                "WHERE NOT t.tgisinternal ORDER BY t.tgname, t.oid",
                "SELECT p.oid, p.proname, p.prosrc, p.prosecdef FROM pg_proc p "
                "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public' "
                "ORDER BY p.proname",
                "SELECT a.attrelid, a.attname, a.atttypid, a.attnotnull FROM pg_attribute a "
                "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n "
                "ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND a.attnum > 0 "
                "ORDER BY a.attrelid, a.attnum",
            )
        ]


@contextmanager
def recorded_statements(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


WRITES = ("CREATE", "ALTER", "DROP", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "GRANT")


def writes(statements: list[str]) -> list[str]:
    return [s for s in statements if s.lstrip().upper().startswith(WRITES)]


def customer_history_count(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(text("SELECT count(*) FROM dp_customer_history")).scalar_one()


def test_deploy_twice_changes_nothing(engine: Engine) -> None:
    first = deploy(engine, MODELS)
    assert first.changed
    assert first.actions == [
        "created table dp_customer with its history table and triggers",
        "created table dp_invoice with its triggers",
    ]
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO dp_customer (customer_id, name) VALUES (1, 'Ada')"))
        connection.execute(text("UPDATE dp_customer SET name = 'Ada L.'"))
    before = schema_snapshot(engine)
    with recorded_statements(engine) as statements:
        second = deploy(engine, MODELS)
    assert second.actions == [] and not second.changed
    assert statements, "deploy should have inspected the database"
    assert writes(statements) == []
    assert schema_snapshot(engine) == before
    assert customer_history_count(engine) == 1
    # ... and the triggers still work after the second deploy
    with engine.begin() as connection:
        connection.execute(text("UPDATE dp_customer SET name = 'Ada K.'"))
    assert customer_history_count(engine) == 2


def test_deploy_after_create_all_has_nothing_to_do(engine: Engine) -> None:
    SQLModel.metadata.create_all(engine, tables=[m.__table__ for m in MODELS])
    assert deploy(engine, MODELS).actions == []


def test_deploy_accepts_tables_and_metadata_and_sorts_dependencies(engine: Engine) -> None:
    # Children first on purpose: deploy orders by foreign keys.
    report = deploy(engine, [DpInvoice.__table__, DpCustomer.__table__])
    assert [a.split()[2] for a in report.actions] == ["dp_customer", "dp_invoice"]


def test_deploy_repairs_a_dropped_history_trigger(engine: Engine) -> None:
    deploy(engine, MODELS)
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.execute(text("DROP TRIGGER adp_dp_customer_update"))
        else:
            connection.execute(text("DROP TRIGGER adp_history ON dp_customer"))
        connection.execute(text("INSERT INTO dp_customer (customer_id, name) VALUES (1, 'Ada')"))
        connection.execute(text("UPDATE dp_customer SET name = 'lost'"))
    assert customer_history_count(engine) == 0  # the damage is real
    report = deploy(engine, MODELS)
    expected = "adp_dp_customer_update" if engine.dialect.name == "sqlite" else "adp_history"
    assert report.actions == [f"created trigger {expected} on dp_customer"]
    with engine.begin() as connection:
        connection.execute(text("UPDATE dp_customer SET name = 'kept'"))
    assert customer_history_count(engine) == 1
    assert deploy(engine, MODELS).actions == []


def test_deploy_recreates_a_dropped_history_table(engine: Engine) -> None:
    deploy(engine, MODELS)
    history_table(DpCustomer).drop(engine)
    report = deploy(engine, MODELS)
    assert report.actions[0] == "created history table dp_customer_history"
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO dp_customer (customer_id, name) VALUES (1, 'Ada')"))
        connection.execute(text("UPDATE dp_customer SET name = 'Ada L.'"))
    assert customer_history_count(engine) == 1


def test_deploy_repairs_disabled_trigger_and_altered_function(pg_engine: Engine) -> None:
    deploy(pg_engine, MODELS)
    with pg_engine.begin() as connection:
        connection.execute(text("ALTER TABLE dp_customer DISABLE TRIGGER adp_history"))
        connection.execute(
            text(
                "CREATE OR REPLACE FUNCTION adp_dp_customer_stamp() RETURNS trigger "
                "LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END;$$"
            )
        )
    report = deploy(pg_engine, MODELS)
    assert report.actions == [
        "replaced function adp_dp_customer_stamp() for dp_customer",
        "enabled trigger adp_history on dp_customer",
    ]
    assert deploy(pg_engine, MODELS).actions == []


def test_existing_table_missing_columns_is_refused_and_nothing_changes(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE dp_drift (drift_id INTEGER PRIMARY KEY)"))
    before = schema_snapshot(engine)
    with pytest.raises(SchemaDriftError, match=r"'dp_drift' lacks column\(s\) added_later, "):
        deploy(engine, [DpCustomer, DpDrift])
    assert schema_snapshot(engine) == before
    assert not inspect(engine).has_table("dp_customer")


def test_drop_all_removes_history_tables_and_trigger_functions(engine: Engine) -> None:
    deploy(engine, MODELS)
    SQLModel.metadata.drop_all(engine, tables=[m.__table__ for m in MODELS])
    assert not {"dp_customer", "dp_customer_history", "dp_invoice"} & set(
        inspect(engine).get_table_names()
    )
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            leftovers = connection.execute(
                text("SELECT proname FROM pg_proc WHERE proname LIKE 'adp\\_%'")
            ).all()
        assert leftovers == []
    assert deploy(engine, MODELS).changed  # and can be deployed again


def test_long_table_names_deploy_idempotently(engine: Engine) -> None:
    assert len(DpLongName.__tablename__) == 60
    history = history_table(DpLongName)
    assert len(history.name) == 63 and history.name != f"{DpLongName.__tablename__}_history"
    assert deploy(engine, [DpLongName]).changed
    assert deploy(engine, [DpLongName]).actions == []
    with engine.begin() as connection:
        table = DpLongName.__tablename__
        connection.execute(text(f"INSERT INTO {table} (long_id, label) VALUES (1, 'a')"))
        connection.execute(text(f"UPDATE {table} SET label = 'b'"))
        assert connection.execute(history.select()).one().label == "a"


class DpSchemaCustomer(ReferenceTable, table=True):
    __tablename__ = "dp_schema_customer"
    __table_args__ = {"schema": "sales"}  # noqa: RUF012
    customer_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    name: str


def test_postgresql_table_in_its_own_schema(pg_engine: Engine) -> None:
    from datetime import UTC, datetime

    from sqlmodel_framework import as_of

    with pg_engine.begin() as connection:
        connection.execute(text("CREATE SCHEMA sales"))
    assert deploy(pg_engine, [DpSchemaCustomer]).changed
    assert deploy(pg_engine, [DpSchemaCustomer]).actions == []
    with pg_engine.begin() as connection:
        connection.execute(text("INSERT INTO sales.dp_schema_customer VALUES (1, 'Ada')"))
    moment = datetime.now(UTC)
    with pg_engine.begin() as connection:
        connection.execute(text("UPDATE sales.dp_schema_customer SET name = 'Ada L.'"))
        functions = connection.execute(
            text(
                "SELECT n.nspname, p.proname FROM pg_proc p JOIN pg_namespace n "
                "ON n.oid = p.pronamespace WHERE p.proname LIKE 'adp\\_%' ORDER BY 2"
            )
        ).all()
    assert {schema for schema, _ in functions} == {"sales"}
    assert [c.name for c in as_of(pg_engine, DpSchemaCustomer, moment)] == ["Ada"]
    with pg_engine.connect() as connection:
        assert (
            connection.execute(
                text("SELECT name FROM sales.dp_schema_customer_history")
            ).scalar_one()
            == "Ada"
        )


# ---- atomic and concurrent deploys (issue 11, item 5) ---------------------------------------


def test_a_deploy_failing_part_way_leaves_the_database_as_it_was(engine: Engine) -> None:
    """The history table's index cannot be created (its name is taken): everything created
    before it in the same deploy, on SQLite too, is rolled back."""
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE dp_blocker (x INTEGER)"))
        connection.execute(text("CREATE INDEX ix_dp_drift_history_key ON dp_blocker (x)"))
    before = schema_snapshot(engine)
    with pytest.raises(Exception, match="ix_dp_drift_history_key"):
        deploy(engine, [DpCustomer, DpDrift])
    assert schema_snapshot(engine) == before
    names = set(inspect(engine).get_table_names())
    assert names == {"dp_blocker"}, names


def test_concurrent_first_deploys_all_succeed(engine: Engine) -> None:
    """Four workers deploy the same models into a fresh database at once (every run of the
    template's example DAG calls deploy()): none fails, the schema is created once."""
    import threading

    from sqlalchemy import create_engine

    engines = [create_engine(engine.url) for _ in range(4)]  # four clients, one database
    barrier = threading.Barrier(len(engines))
    results: list[Any] = [None] * len(engines)

    def work(number: int) -> None:
        barrier.wait()
        try:
            results[number] = deploy(engines[number], [*MODELS, DpDrift]).actions
        except Exception as error:
            results[number] = error

    threads = [threading.Thread(target=work, args=(n,)) for n in range(len(engines))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for each in engines:
        each.dispose()
    failures = [r for r in results if isinstance(r, Exception)]
    assert failures == [], failures
    creators = [r for r in results if r]
    assert len(creators) == 1, results
    assert deploy(engine, [*MODELS, DpDrift]).actions == []
