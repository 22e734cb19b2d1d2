"""A small Pagila-shaped sample (the DVD rental store), generated, deterministic.

The source system is simulated day by day: `source(day)` is what it holds on
that day, a pure function of the day number (no randomness that is not seeded
by the day, no clock, no files), so every run, test and machine sees the same
rows. From day 2 on, things change the way a real catalogue changes:

- some films' rental rate goes up by 1.00 (film_id % 7 == day % 7);
- some customers move to the other store and get a new e-mail address
  (customer_id % 6 == day % 6);
- customer 15 leaves on day 4 (inactivated, not deleted);
- six films are rented every day, each returned one to three days later, and
  paid at the film's rental rate of the rental day.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

FIRST_DAY = datetime(2025, 1, 1, tzinfo=UTC)
LAST_DAY = 60  # the sample covers days 1..LAST_DAY
RENTALS_PER_DAY = 6
RAISE = Decimal("1.00")
LEAVES = {15: 4}  # customer_id: the day the customer leaves

ACTORS = [
    ("PENELOPE", "GUINESS"),
    ("NICK", "WAHLBERG"),
    ("ED", "CHASE"),
    ("JENNIFER", "DAVIS"),
    ("JOHNNY", "LOLLOBRIGIDA"),
    ("BETTE", "NICHOLSON"),
    ("GRACE", "MOSTEL"),
    ("MATTHEW", "JOHANSSON"),
    ("JOE", "SWANK"),
    ("CHRISTIAN", "GABLE"),
    ("ZERO", "CAGE"),
    ("KARL", "BERRY"),
]
FILMS = [
    "ACADEMY DINOSAUR",
    "ACE GOLDFINGER",
    "ADAPTATION HOLES",
    "AFFAIR PREJUDICE",
    "AFRICAN EGG",
    "AGENT TRUMAN",
    "AIRPLANE SIERRA",
    "AIRPORT POLLOCK",
    "ALABAMA DEVIL",
    "ALADDIN CALENDAR",
    "ALAMO VIDEOTAPE",
    "ALASKA PHANTOM",
    "ALI FOREVER",
    "ALICE FANTASIA",
    "ALIEN CENTER",
    "ALLEY EVOLUTION",
    "ALONE TRIP",
    "ALTER VICTORY",
    "AMADEUS HOLY",
    "AMELIE HELLFIGHTERS",
]
CATEGORIES = ["Documentary", "Horror", "Comedy", "Action", "Family"]
RATINGS = ["PG", "G", "NC-17", "R", "PG-13"]
BASE_RATES = [Decimal("0.99"), Decimal("2.99"), Decimal("4.99")]
CUSTOMERS = [
    ("MARY", "SMITH"),
    ("PATRICIA", "JOHNSON"),
    ("LINDA", "WILLIAMS"),
    ("BARBARA", "JONES"),
    ("ELIZABETH", "BROWN"),
    ("JENNIFER", "DAVIS"),
    ("MARIA", "MILLER"),
    ("SUSAN", "WILSON"),
    ("MARGARET", "MOORE"),
    ("DOROTHY", "TAYLOR"),
    ("LISA", "ANDERSON"),
    ("NANCY", "THOMAS"),
    ("KAREN", "JACKSON"),
    ("BETTY", "WHITE"),
    ("HELEN", "HARRIS"),
]


def check_day(day: int) -> int:
    """`day` itself when the sample has it; ValueError naming the allowed range otherwise."""
    if isinstance(day, bool) or not isinstance(day, int) or not 1 <= day <= LAST_DAY:
        raise ValueError(f"day must be a whole number from 1 to {LAST_DAY}, not {day!r}")
    return day


def day_start(day: int) -> datetime:
    """Midnight UTC of `day` (day 1 is 2025-01-01)."""
    return FIRST_DAY + timedelta(days=check_day(day) - 1)


def changes_on(day: int, key: int, modulus: int) -> bool:
    """Whether the row with `key` changes on `day` under the rule `key % modulus == day % modulus`."""
    return day >= 2 and key % modulus == day % modulus


def rental_rate(film_id: int, day: int) -> Decimal:
    """The film's rental rate on `day`: its base rate plus one raise per change day so far."""
    raises = sum(changes_on(d, film_id, 7) for d in range(2, day + 1))
    return BASE_RATES[film_id % len(BASE_RATES)] + RAISE * raises


def actors() -> list[dict[str, Any]]:
    return [
        {"actor_id": i, "first_name": first, "last_name": last}
        for i, (first, last) in enumerate(ACTORS, start=1)
    ]


def films(day: int) -> list[dict[str, Any]]:
    return [
        {
            "film_id": i,
            "title": title,
            "category": CATEGORIES[i % len(CATEGORIES)],
            "release_year": 2006,
            "rating": RATINGS[i % len(RATINGS)],
            "rental_duration": 3 + i % 5,
            "rental_rate": rental_rate(i, day),
        }
        for i, title in enumerate(FILMS, start=1)
    ]


def film_actors() -> list[dict[str, Any]]:
    """Two actors per film (fixed)."""
    pairs = {(f, f % len(ACTORS) + 1) for f in range(1, len(FILMS) + 1)}
    pairs |= {(f, (f * 5 + 3) % len(ACTORS) + 1) for f in range(1, len(FILMS) + 1)}
    return [{"film_id": f, "actor_id": a} for f, a in sorted(pairs)]


def customers(day: int) -> list[dict[str, Any]]:
    """Every customer the source knows on `day`, with `active` False once they have left."""
    rows = []
    for i, (first, last) in enumerate(CUSTOMERS, start=1):
        moves = [d for d in range(2, day + 1) if changes_on(d, i, 6)]
        suffix = f".{moves[-1]}" if moves else ""
        rows.append(
            {
                "customer_id": i,
                "first_name": first,
                "last_name": last,
                "email": f"{first}.{last}{suffix}@example.org".lower(),
                "store_id": 1 + (i + len(moves)) % 2,
                "active": day < LEAVES.get(i, LAST_DAY + 1),
            }
        )
    return rows


def return_day(rental_id: int) -> int:
    """The day a rental comes back: one to three days after it was rented."""
    return rental_id // 100 + rental_id % 3 + 1


@dataclass(frozen=True)
class Day:
    """What the source system holds on one day."""

    day: int
    actors: list[dict[str, Any]] = field(repr=False)
    films: list[dict[str, Any]] = field(repr=False)
    film_actors: list[dict[str, Any]] = field(repr=False)
    customers: list[dict[str, Any]] = field(repr=False)
    rentals: list[dict[str, Any]] = field(repr=False)
    payments: list[dict[str, Any]] = field(repr=False)


def rentals(day: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The rentals of `day` and their payments (rental ids day*100+1 ... day*100+6)."""
    rng = random.Random(day)
    active = [c["customer_id"] for c in customers(day) if c["active"]]
    rented, paid = [], []
    for n in range(1, RENTALS_PER_DAY + 1):
        rental_id = day * 100 + n
        film_id = rng.randint(1, len(FILMS))
        customer_id = rng.choice(active)
        at = day_start(day) + timedelta(hours=9 + n, minutes=rng.randrange(60))
        rented.append(
            {
                "rental_id": rental_id,
                "rental_date": at,
                "film_id": film_id,
                "customer_id": customer_id,
            }
        )
        paid.append(
            {
                "payment_id": rental_id,
                "rental_id": rental_id,
                "customer_id": customer_id,
                "amount": rental_rate(film_id, day),
                "payment_date": at,
            }
        )
    return rented, paid


def returned_at(rental_id: int) -> datetime:
    """When the rental comes back (17:00 UTC of its return day)."""
    return FIRST_DAY + timedelta(days=return_day(rental_id) - 1, hours=17)


def source(day: int) -> Day:
    """The source system on `day`."""
    rented, paid = rentals(check_day(day))
    return Day(day, actors(), films(day), film_actors(), customers(day), rented, paid)
