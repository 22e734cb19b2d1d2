"""Behaviour of reference-table history on SQLite and a real PostgreSQL server: inserts,
ORM updates, raw SQL bulk updates, upserts and deletes all leave the previous versions in the
history table, systime moves forward, and as-of queries return the state at any moment."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Column, Engine, String, text
from sqlmodel import Field, Session, select
from sqlmodel_framework import ReferenceTable, as_of, deploy, history_table

WRITER = "adp_writer"


class HistCustomer(ReferenceTable, table=True):
    __tablename__ = "hist_customer"

    customer_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    name: str
    city: str | None = None


def tick() -> datetime:
    """A moment strictly between two database changes."""
    time.sleep(0.02)
    moment = datetime.now(UTC)
    time.sleep(0.02)
    return moment


def execute(engine: Engine, sql: str) -> None:
    with engine.begin() as connection:
        connection.execute(text(sql))


def current(engine: Engine) -> dict[int, tuple[str, str | None]]:
    with Session(engine) as session:
        rows = session.exec(select(HistCustomer)).all()
        return {r.customer_id: (r.name, r.city) for r in rows}


def history(engine: Engine) -> list[dict]:
    table = history_table(HistCustomer)
    with engine.connect() as connection:
        order = (table.c.customer_id, table.c.systime)
        rows = connection.execute(table.select().order_by(*order)).mappings()
        return [dict(r) for r in rows]


def state(engine: Engine, at: datetime, **kw: bool) -> dict[int, tuple[str, str | None]]:
    return {r.customer_id: (r.name, r.city) for r in as_of(engine, HistCustomer, at, **kw)}


def expected_user(engine: Engine) -> str | None:
    return WRITER if engine.dialect.name == "postgresql" else None


def test_insert_update_bulk_update_delete(engine: Engine) -> None:
    deploy(engine, [HistCustomer])
    t0 = tick()
    with Session(engine) as session:
        session.add(HistCustomer(customer_id=1, name="Ada", city="London"))
        session.add(HistCustomer(customer_id=2, name="Bob", city="Paris"))
        session.add(HistCustomer(customer_id=3, name="Cy", city="Rome"))
        session.commit()
    t1 = tick()
    with Session(engine) as session:
        ada = session.get(HistCustomer, 1)
        assert ada is not None
        ada.name = "Ada L."
        session.commit()
    t2 = tick()
    execute(engine, "UPDATE hist_customer SET city = 'Berlin' WHERE customer_id IN (1, 2)")
    t3 = tick()
    execute(engine, "DELETE FROM hist_customer WHERE customer_id = 3")
    t4 = tick()

    assert current(engine) == {1: ("Ada L.", "Berlin"), 2: ("Bob", "Berlin")}
    rows = history(engine)
    assert [(r["customer_id"], r["name"], r["city"], r["operation"]) for r in rows] == [
        (1, "Ada", "London", "U"),
        (1, "Ada L.", "London", "U"),
        (2, "Bob", "Paris", "U"),
        (3, "Cy", "Rome", "D"),
    ]
    for row in rows:
        assert row["valid_to"] > row["systime"]
        assert row["ended_by"] == expected_user(engine)
        assert row["changed_by"] == expected_user(engine)

    # The versions of customer 1 form an unbroken chain, and systime moved forward.
    with Session(engine) as session:
        ada = session.get(HistCustomer, 1)
        assert ada is not None
        first, second = rows[0], rows[1]
        assert first["systime"] < second["systime"] < ada.systime
        assert first["valid_to"] == second["systime"]
        assert second["valid_to"] == ada.systime
        assert t0 < first["systime"] < t1 < second["systime"] < t2 < ada.systime < t3
        assert ada.created_at == first["created_at"] == second["created_at"]
        assert ada.updated_at > first["updated_at"]
        assert ada.changed_by == expected_user(engine)
        assert ada.systime.tzinfo is not None

    assert state(engine, t0) == {}
    assert state(engine, t1) == {1: ("Ada", "London"), 2: ("Bob", "Paris"), 3: ("Cy", "Rome")}
    assert state(engine, t2) == {1: ("Ada L.", "London"), 2: ("Bob", "Paris"), 3: ("Cy", "Rome")}
    assert state(engine, t3) == {1: ("Ada L.", "Berlin"), 2: ("Bob", "Berlin"), 3: ("Cy", "Rome")}
    assert state(engine, t4) == current(engine)
    # naive datetimes are UTC
    assert state(engine, t1.replace(tzinfo=None)) == state(engine, t1)


def test_no_op_update_writes_no_version(engine: Engine) -> None:
    deploy(engine, [HistCustomer])
    execute(engine, "INSERT INTO hist_customer (customer_id, name) VALUES (1, 'Ada')")
    before = current(engine)
    with Session(engine) as session:
        systime = session.get(HistCustomer, 1).systime  # type: ignore[union-attr]
    tick()
    execute(engine, "UPDATE hist_customer SET name = name")
    assert history(engine) == []
    assert current(engine) == before
    with Session(engine) as session:
        assert session.get(HistCustomer, 1).systime == systime  # type: ignore[union-attr]


def test_systime_strictly_increases_even_within_one_transaction(engine: Engine) -> None:
    deploy(engine, [HistCustomer])
    execute(engine, "INSERT INTO hist_customer (customer_id, name) VALUES (1, 'v0')")
    with engine.begin() as connection:  # same transaction: same now() on PostgreSQL
        for version in range(1, 4):
            connection.execute(text(f"UPDATE hist_customer SET name = 'v{version}'"))
    rows = history(engine)
    assert [r["name"] for r in rows] == ["v0", "v1", "v2"]
    starts = [r["systime"] for r in rows]
    with Session(engine) as session:
        starts.append(session.get(HistCustomer, 1).systime)  # type: ignore[union-attr]
    assert starts == sorted(set(starts)), starts
    assert [r["valid_to"] for r in rows] == starts[1:]


def test_upsert_is_captured(engine: Engine) -> None:
    deploy(engine, [HistCustomer])
    execute(engine, "INSERT INTO hist_customer (customer_id, name) VALUES (1, 'Ada')")
    execute(
        engine,
        "INSERT INTO hist_customer (customer_id, name) VALUES (1, 'Ada K.'), (2, 'Bob') "
        "ON CONFLICT (customer_id) DO UPDATE SET name = excluded.name",
    )
    assert current(engine) == {1: ("Ada K.", None), 2: ("Bob", None)}
    assert [(r["customer_id"], r["name"], r["operation"]) for r in history(engine)] == [
        (1, "Ada", "U")
    ]


def test_inactivation_is_a_soft_delete_seen_by_as_of(engine: Engine) -> None:
    deploy(engine, [HistCustomer])
    with Session(engine) as session:
        session.add(HistCustomer(customer_id=1, name="Ada"))
        session.add(HistCustomer(customer_id=2, name="Bob"))
        session.commit()
    t1 = tick()
    with Session(engine) as session:
        bob = session.get(HistCustomer, 2)
        assert bob is not None and bob.is_active
        bob.inactivate()
        session.commit()
        session.refresh(bob)
        assert not bob.is_active
    t2 = tick()
    assert set(current(engine)) == {1, 2}  # still there: soft delete
    assert set(state(engine, t1)) == {1, 2}
    assert set(state(engine, t2)) == {1}
    assert set(state(engine, t2, include_inactive=True)) == {1, 2}
    assert [r["operation"] for r in history(engine)] == ["U"]


def test_as_of_returns_detached_copies(engine: Engine) -> None:
    deploy(engine, [HistCustomer])
    execute(engine, "INSERT INTO hist_customer (customer_id, name) VALUES (1, 'Ada')")
    t1 = tick()
    execute(engine, "UPDATE hist_customer SET name = 'Ada L.'")
    with Session(engine) as session:
        live = session.get(HistCustomer, 1)
        (old,) = as_of(session, HistCustomer, t1)
        assert old.name == "Ada" and live is not None and live.name == "Ada L."
        assert old is not live
        session.commit()
    assert current(engine) == {1: ("Ada L.", None)}


def test_postgresql_records_session_user_even_after_set_role(pg_engine: Engine) -> None:
    deploy(pg_engine, [HistCustomer])
    execute(pg_engine, "INSERT INTO hist_customer (customer_id, name) VALUES (1, 'Ada')")
    execute(pg_engine, "GRANT SELECT, UPDATE ON hist_customer TO adp_other")
    with pg_engine.begin() as connection:
        connection.execute(text("SET LOCAL ROLE adp_other"))
        assert connection.execute(text("SELECT current_user")).scalar() == "adp_other"
        connection.execute(text("UPDATE hist_customer SET name = 'Ada L.'"))
    with Session(pg_engine) as session:
        assert session.get(HistCustomer, 1).changed_by == WRITER  # type: ignore[union-attr]
    (row,) = history(pg_engine)
    assert row["ended_by"] == WRITER  # adp_other has no privilege on the history table


def test_postgresql_truncate_keeps_history(pg_engine: Engine) -> None:
    deploy(pg_engine, [HistCustomer])
    execute(pg_engine, "INSERT INTO hist_customer (customer_id, name) VALUES (1, 'A'), (2, 'B')")
    t1 = tick()
    execute(pg_engine, "TRUNCATE hist_customer")
    assert current(pg_engine) == {}
    assert sorted((r["customer_id"], r["operation"]) for r in history(pg_engine)) == [
        (1, "D"),
        (2, "D"),
    ]
    assert state(pg_engine, t1) == {1: ("A", None), 2: ("B", None)}


@pytest.mark.parametrize("column", ["systime", "created_at"])
def test_database_not_client_sets_the_stamps(engine: Engine, column: str) -> None:
    deploy(engine, [HistCustomer])
    forged = datetime(2000, 1, 1, tzinfo=UTC)
    with Session(engine) as session:
        session.add(HistCustomer(customer_id=1, name="Ada", **{column: forged}))
        session.commit()
    with Session(engine) as session:
        ada = session.get(HistCustomer, 1)
        assert ada is not None
        if column == "systime":
            assert ada.systime > forged  # systime is always the database's
        else:
            assert ada.created_at == forged  # an explicit created_at is kept (data loads)
        ada.name = "Ada L."
        session.add(ada)
        session.commit()
        session.refresh(ada)
        assert ada.systime > forged


class HistRenamed(ReferenceTable, table=True):
    """An attribute whose column has another name (issue 11, item 4)."""

    __tablename__ = "hist_renamed"
    renamed_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    name: str = Field(sa_column=Column("customer_name", String(50), nullable=False))


def test_as_of_fills_attributes_whose_column_has_another_name(engine: Engine) -> None:
    deploy(engine, [HistRenamed])
    with Session(engine) as session:
        session.add(HistRenamed(renamed_id=1, name="Ada"))
        session.commit()
    before = tick()
    with Session(engine) as session:
        row = session.get(HistRenamed, 1)
        assert row is not None
        row.name = "Ada L."
        session.commit()
    (then,) = as_of(engine, HistRenamed, before)
    (now,) = as_of(engine, HistRenamed, datetime.now(UTC))
    assert (then.name, now.name) == ("Ada", "Ada L.")


@pytest.mark.parametrize("stamp", ["systime", "created_at", "changed_by", "updated_at"])
def test_an_update_of_the_stamps_alone_cannot_forge_them(engine: Engine, stamp: str) -> None:
    """Setting only a stamp column (ORM or raw SQL) must not bypass the database's stamps:
    as_of() would see two versions of one key, or rows before they existed (item 3)."""
    deploy(engine, [HistCustomer])
    with Session(engine) as session:
        session.add(HistCustomer(customer_id=1, name="Ada"))
        session.commit()
    with engine.connect() as connection:
        original = connection.execute(text(f"SELECT {stamp} FROM hist_customer")).scalar()
    forged = "'2000-01-01 00:00:00.000000'" if stamp != "changed_by" else "'mallory'"
    with engine.begin() as connection:
        connection.execute(text(f"UPDATE hist_customer SET {stamp} = {forged}"))
    with engine.connect() as connection:
        after = connection.execute(text(f"SELECT {stamp} FROM hist_customer")).scalar()
        versions = connection.execute(history_table(HistCustomer).select()).all()
    assert after == original, f"{stamp} was forged"
    assert versions == [], "a stamp-only update started a new version"
    assert len(as_of(engine, HistCustomer, datetime(2001, 1, 1, tzinfo=UTC))) == 0
    assert len(as_of(engine, HistCustomer, datetime.now(UTC))) == 1


# ---- time zones and exact instants (issue 11, item 25) --------------------------------------


def test_as_of_exactly_at_a_change_gives_one_version(engine: Engine) -> None:
    deploy(engine, [HistCustomer])
    with Session(engine) as session:
        session.add(HistCustomer(customer_id=1, name="Ada"))
        session.commit()
    tick()
    with Session(engine) as session:
        ada = session.get(HistCustomer, 1)
        assert ada is not None
        ada.name = "Ada L."
        session.commit()
        session.refresh(ada)
        changed_at = ada.systime
    at_change = as_of(engine, HistCustomer, changed_at)
    assert [c.name for c in at_change] == ["Ada L."]  # the new version, alone
    just_before = as_of(engine, HistCustomer, changed_at - timedelta(microseconds=1))
    assert [c.name for c in just_before] == ["Ada"]


def test_as_of_takes_any_time_zone_for_the_same_instant(engine: Engine) -> None:
    deploy(engine, [HistCustomer])
    with Session(engine) as session:
        session.add(HistCustomer(customer_id=1, name="Ada"))
        session.commit()
    moment = tick()
    with Session(engine) as session:
        ada = session.get(HistCustomer, 1)
        assert ada is not None
        ada.name = "Ada L."
        session.commit()
    kolkata = moment.astimezone(timezone(timedelta(hours=5, minutes=30)))
    new_york = moment.astimezone(timezone(timedelta(hours=-5)))
    naive_utc = moment.replace(tzinfo=None)  # documented: naive means UTC
    for at in (moment, kolkata, new_york, naive_utc):
        assert [c.name for c in as_of(engine, HistCustomer, at)] == ["Ada"], at


def test_a_postgresql_session_in_another_time_zone_stamps_and_reads_utc(
    pg_server: Any, pg_database: str
) -> None:
    from sqlmodel_framework import postgres_engine

    engine = postgres_engine(
        host=pg_server.host,
        port=pg_server.port,
        database=pg_database,
        user=WRITER,
        connect_args={"options": "-c timezone=Asia/Kolkata"},
    )
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SHOW timezone").scalar() == "Asia/Kolkata"
        test_as_of_exactly_at_a_change_gives_one_version(engine)
        with Session(engine) as session:
            ada = session.get(HistCustomer, 1)
            assert ada is not None and ada.systime.utcoffset() == timedelta(0)
            assert abs((datetime.now(UTC) - ada.systime).total_seconds()) < 60
    finally:
        engine.dispose()


# ---- what as-of means on PostgreSQL (issue 11, item 7) --------------------------------------


def test_postgresql_versions_count_from_their_transactions_start(pg_engine: Engine) -> None:
    """The guarantee the README states: systime is the writing transaction's start (now()),
    so a version written by a transaction open across t is part of as_of(t) once committed,
    though a reader at t could not see it yet."""
    deploy(pg_engine, [HistCustomer])
    with Session(pg_engine) as session:
        session.add(HistCustomer(customer_id=1, name="Ada"))
        session.commit()
    with pg_engine.connect() as writer:
        writer.execute(text("BEGIN"))
        writer.execute(text("SELECT 1"))  # the transaction (and now()) starts here
        started = tick()
        writer.execute(text("UPDATE hist_customer SET name = 'Ada L.'"))
        during = tick()
        assert [c.name for c in as_of(pg_engine, HistCustomer, during)] == ["Ada"]  # not yet
        writer.execute(text("COMMIT"))
    assert [c.name for c in as_of(pg_engine, HistCustomer, during)] == ["Ada L."]
    assert [c.name for c in as_of(pg_engine, HistCustomer, started)] == ["Ada L."]
