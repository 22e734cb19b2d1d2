"""The day's report: what changed since a moment, read with `as_of()`.

`as_of(engine, Film, before)` is the film table exactly as it was at `before`
(the database keeps the old versions), so the report compares the catalogue
and the customers before a load with what they are now, without any snapshot
table of its own.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session
from sqlmodel_framework import as_of

from pagila import sample
from pagila.models import Customer, Film, Payment, Rental


def report(engine: Engine, day: int, before: datetime) -> dict[str, Any]:
    """Price changes, customer moves and departures since `before`, and the day's takings.

    Decimals are given as strings, times in ISO 8601: the result is an XCom (JSON)."""
    start = sample.day_start(day)
    end = start + timedelta(days=1)
    with Session(engine) as session:
        films_then = {f.film_id: f for f in as_of(session, Film, before)}
        customers_then = {c.customer_id: c for c in as_of(session, Customer, before)}
        films_now = {f.film_id: f for f in session.scalars(select(Film))}
        customers_now = list(session.scalars(select(Customer).order_by(Customer.customer_id)))
        takings = session.scalar(
            select(func.coalesce(func.sum(Payment.amount), 0)).where(
                Payment.payment_date >= start, Payment.payment_date < end
            )
        )
        open_rentals = session.scalar(
            select(func.count()).select_from(Rental).where(Rental.return_date.is_(None))
        )
    price_changes = [
        {
            "film_id": film_id,
            "title": film.title,
            "before": str(films_then[film_id].rental_rate),
            "now": str(film.rental_rate),
        }
        for film_id, film in sorted(films_now.items())
        if film_id in films_then and films_then[film_id].rental_rate != film.rental_rate
    ]
    moves = [
        {
            "customer_id": c.customer_id,
            "store_before": customers_then[c.customer_id].store_id,
            "store_now": c.store_id,
            "email_now": c.email,
        }
        for c in customers_now
        if c.customer_id in customers_then
        and c.is_active
        and customers_then[c.customer_id].store_id != c.store_id
    ]
    left = [
        c.customer_id for c in customers_now if not c.is_active and c.customer_id in customers_then
    ]
    return {
        "day": day,
        "as_of": before.isoformat(),
        "films_before": len(films_then),
        "customers_before": len(customers_then),
        "price_changes": price_changes,
        "customer_moves": moves,
        "customers_left": left,
        "takings": str(takings),
        "open_rentals": int(open_rentals or 0),
    }


def summary(result: dict[str, Any]) -> list[str]:
    """The report as log lines."""
    lines = [
        f"Day {result['day']}: takings {result['takings']}, "
        f"{result['open_rentals']} rentals out; changes since {result['as_of']}:",
    ]
    for change in result["price_changes"]:
        lines.append(f"  {change['title']}: rental rate {change['before']} -> {change['now']}")
    for move in result["customer_moves"]:
        lines.append(
            f"  customer {move['customer_id']}: store {move['store_before']} -> "
            f"{move['store_now']} ({move['email_now']})"
        )
    lines.extend(f"  customer {c} left" for c in result["customers_left"])
    if len(lines) == 1:
        lines.append("  none")
    return lines
