"""Loading one day of the sample into the warehouse.

Every function here is idempotent: loading the same day twice in a row changes
nothing the second time, and writes no history. Loading an earlier day after a
later one makes the warehouse that day's state again (and the history records it). Dimensions are upserted through the ORM, which writes only
the columns whose value changed; the database's triggers then keep the
previous version of each changed row. Facts are inserted once; a rental that
has come back by the loaded day gets its return date.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session
from sqlmodel_framework import ReferenceTable, deploy, history_table, utc_now

from pagila import sample
from pagila.models import TABLES, Actor, Customer, Film, FilmActor, Payment, Rental


def deploy_tables(engine: Engine) -> list[str]:
    """Create or repair every table with its history table and triggers."""
    return deploy(engine, TABLES).actions


def database_now(engine: Engine) -> datetime:
    """The warehouse's clock, in its own transaction: the moment before a load."""
    with engine.connect() as connection:
        return connection.execute(select(utc_now())).scalar_one()


def _upsert(
    session: Session, model: type[ReferenceTable], rows: list[dict[str, Any]], now: datetime
) -> int:
    """Insert missing rows, update changed ones, inactivate (at `now`) the rows the source
    marks `active: False` and reactivate the others; returns how many rows changed."""
    changed = 0
    keys = [c.name for c in model.__table__.primary_key]
    for row in rows:
        values = {k: v for k, v in row.items() if k != "active"}
        active = row.get("active", True)
        current = session.get(model, tuple(values[k] for k in keys))
        if current is None:
            current = model(**values)
        elif all(getattr(current, k) == v for k, v in values.items()):
            if current.is_active == active:
                continue  # unchanged: no UPDATE, so no history
        else:
            current.sqlmodel_update(values)
        if not active and current.is_active:
            current.inactivate(now)
        elif active and not current.is_active:
            current.inactivated_at = None
        session.add(current)
        changed += 1
    return changed


def load_dimensions(engine: Engine, day: int) -> dict[str, int]:
    """Actors, films, who plays where, and customers as the source has them on `day`."""
    source = sample.source(day)
    with Session(engine) as session:
        # The warehouse's clock, as for the history: a worker's clock may differ.
        now = session.execute(select(utc_now())).scalar_one()
        counts = {
            "actors": _upsert(session, Actor, source.actors, now),
            "films": _upsert(session, Film, source.films, now),
            "film_actors": _upsert(session, FilmActor, source.film_actors, now),
            "customers": _upsert(session, Customer, source.customers, now),
        }
        session.commit()
    return counts


def load_facts(engine: Engine, day: int) -> dict[str, int]:
    """The rentals and payments of `day`, and the returns that happened by then."""
    source = sample.source(day)
    counts = {"rentals": 0, "payments": 0, "returns": 0}
    with Session(engine) as session:
        for row in source.rentals:
            if session.get(Rental, row["rental_id"]) is None:
                session.add(Rental(**row))
                counts["rentals"] += 1
        session.flush()  # payments reference the rentals
        for row in source.payments:
            if session.get(Payment, row["payment_id"]) is None:
                session.add(Payment(**row))
                counts["payments"] += 1
        open_rentals = session.scalars(select(Rental).where(Rental.return_date.is_(None)))
        for rental in open_rentals:
            if sample.return_day(rental.rental_id) <= day:
                rental.return_date = sample.returned_at(rental.rental_id)
                session.add(rental)
                counts["returns"] += 1
        session.commit()
    return counts


def row_counts(engine: Engine) -> dict[str, int]:
    """Rows in every table and every history table, by table name."""
    counts = {}
    with engine.connect() as connection:
        for model in TABLES:
            table = model.__table__
            tables = [table, history_table(model)] if model.__history__ else [table]
            for t in tables:
                counts[t.name] = connection.execute(
                    select(func.count()).select_from(t)
                ).scalar_one()
    return counts
