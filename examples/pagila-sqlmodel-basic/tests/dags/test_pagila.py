"""The Pagila sample, its loads and its report, against a local SQLite warehouse.

The same functions the DAG's tasks call, run day after day: the warehouse holds the
expected rows, history is written only for what changed, loading a day again
changes nothing, and the report sees the tables as they were before the load.
"""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlmodel_framework import sqlite_engine

DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"


@pytest.fixture
def pagila(monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    """The datakit's package, imported as the tasks import it (dags/ on sys.path)."""
    monkeypatch.syspath_prepend(str(DAGS_FOLDER))
    from pagila import load, report, sample

    return SimpleNamespace(load=load, report=report, sample=sample)


@pytest.fixture
def engine(tmp_path: Path):
    engine = sqlite_engine(tmp_path / "warehouse.sqlite")
    yield engine
    engine.dispose()


def load_day(pagila: SimpleNamespace, engine, day: int) -> dict[str, int]:
    return {**pagila.load.load_dimensions(engine, day), **pagila.load.load_facts(engine, day)}


def test_the_sample_is_deterministic_and_consistent(pagila: SimpleNamespace) -> None:
    sample = pagila.sample
    assert sample.source(3) == sample.source(3)
    for day in range(1, sample.LAST_DAY + 1):
        source = sample.source(day)
        active = {c["customer_id"] for c in source.customers if c["active"]}
        assert {r["customer_id"] for r in source.rentals} <= active, day
        rates = {f["film_id"]: f["rental_rate"] for f in source.films}
        for rental, payment in zip(source.rentals, source.payments, strict=True):
            assert payment["amount"] == rates[rental["film_id"]]
            assert sample.return_day(rental["rental_id"]) > day
    with pytest.raises(ValueError, match="day must be a whole number from 1 to 60"):
        sample.source(0)
    with pytest.raises(ValueError, match="not '2'"):
        sample.source("2")  # type: ignore[arg-type]


def test_days_load_rows_and_history_for_what_changed(pagila: SimpleNamespace, engine) -> None:
    pagila.load.deploy_tables(engine)
    assert load_day(pagila, engine, 1) == {
        "actors": 12,
        "films": 20,
        "film_actors": len(pagila.sample.film_actors()),
        "customers": 15,
        "rentals": 6,
        "payments": 6,
        "returns": 0,
    }
    # Day 2: films 2, 9, 16 cost more; customers 2, 8, 14 move; rentals 102, 105 return.
    assert load_day(pagila, engine, 2) == {
        "actors": 0,
        "films": 3,
        "film_actors": 0,
        "customers": 3,
        "rentals": 6,
        "payments": 6,
        "returns": 2,
    }
    counts = pagila.load.row_counts(engine)
    assert counts["pagila_film"] == 20 and counts["pagila_film_history"] == 3
    assert counts["pagila_customer_history"] == 3
    assert counts["pagila_actor_history"] == 0 and counts["pagila_film_actor_history"] == 0
    assert counts["pagila_rental"] == 12 and counts["pagila_rental_history"] == 2
    assert counts["pagila_payment"] == 12


def test_a_day_loaded_again_changes_nothing(pagila: SimpleNamespace, engine) -> None:
    pagila.load.deploy_tables(engine)
    for day in (1, 2):
        load_day(pagila, engine, day)
    before = pagila.load.row_counts(engine)
    assert set(load_day(pagila, engine, 2).values()) == {0}
    assert pagila.load.row_counts(engine) == before
    assert pagila.load.deploy_tables(engine) == []


def test_the_report_compares_with_the_tables_as_they_were(pagila: SimpleNamespace, engine) -> None:
    pagila.load.deploy_tables(engine)
    for day in (1, 2, 3):
        load_day(pagila, engine, day)
    before = pagila.load.database_now(engine)
    time.sleep(0.01)  # SQLite's clock has millisecond steps
    load_day(pagila, engine, 4)
    result = pagila.report.report(engine, 4, before)

    # Day 4: films 4, 11, 18 cost 1.00 more; customers 4 and 10 move; customer 15 leaves.
    assert [(c["film_id"], c["before"], c["now"]) for c in result["price_changes"]] == [
        (4, "2.99", "3.99"),
        (11, "4.99", "5.99"),
        (18, "0.99", "1.99"),
    ]
    assert [
        (m["customer_id"], m["store_before"], m["store_now"]) for m in result["customer_moves"]
    ] == [
        (4, 1, 2),
        (10, 1, 2),
    ]
    assert result["customers_left"] == [15]
    assert (result["films_before"], result["customers_before"]) == (20, 15)
    paid = sum((p["amount"] for p in pagila.sample.source(4).payments), Decimal(0))
    assert Decimal(result["takings"]) == paid
    lines = pagila.report.summary(result)
    assert "  AFFAIR PREJUDICE: rental rate 2.99 -> 3.99" in lines
    assert "  customer 15 left" in lines


def test_every_film_has_two_actors(pagila: SimpleNamespace) -> None:
    cast: dict[int, set[int]] = {}
    for pair in pagila.sample.film_actors():
        cast.setdefault(pair["film_id"], set()).add(pair["actor_id"])
    assert sorted(cast) == list(range(1, 21))
    assert {len(actors) for actors in cast.values()} == {2}


def test_a_later_day_loaded_first_inactivates_who_has_left(pagila: SimpleNamespace, engine) -> None:
    from sqlmodel import Session

    from pagila.models import Customer

    pagila.load.deploy_tables(engine)
    assert pagila.load.load_dimensions(engine, 5)["customers"] == 15
    with Session(engine) as session:
        left = session.get(Customer, 15)
        assert left is not None and not left.is_active
        assert all(session.get(Customer, i).is_active for i in range(1, 15))
    assert pagila.load.load_dimensions(engine, 5)["customers"] == 0


def test_an_earlier_day_loaded_again_restores_that_day(pagila: SimpleNamespace, engine) -> None:
    from sqlmodel import Session

    from pagila.models import Customer, Film

    pagila.load.deploy_tables(engine)
    pagila.load.load_dimensions(engine, 5)
    assert pagila.load.load_dimensions(engine, 3)["customers"] > 0
    with Session(engine) as session:
        assert session.get(Customer, 15).is_active  # day 3: customer 15 has not left yet
        rates = {f["film_id"]: f["rental_rate"] for f in pagila.sample.films(3)}
        assert all(session.get(Film, i).rental_rate == rate for i, rate in rates.items())
