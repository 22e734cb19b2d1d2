"""The warehouse tables of the Pagila sample (sqlmodel_framework models).

Dimensions are ReferenceTables: the database keeps every previous version of a
changed row in `<table>_history`, and `as_of()` reads a table as it was at any
moment. Rentals and payments are TransactionalTables (facts that arrive over
time); a rental is updated once, when the film comes back, and keeps its open
version in `pagila_rental_history` because the class asks for history.

Import this module inside tasks only: DAG files must parse without it.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Numeric
from sqlmodel import Field
from sqlmodel_framework import ReferenceTable, TransactionalTable, UTCDateTime

#: Keys come from the source system: the database must not number them.
SOURCE_KEY = {"autoincrement": False}


class Actor(ReferenceTable, table=True):
    """An actor, keyed by the source's actor id."""

    __tablename__ = "pagila_actor"

    actor_id: int = Field(primary_key=True, sa_column_kwargs=SOURCE_KEY)
    first_name: str = Field(max_length=45)
    last_name: str = Field(max_length=45)


class Film(ReferenceTable, table=True):
    """A film of the catalogue; its rental rate changes over time."""

    __tablename__ = "pagila_film"

    film_id: int = Field(primary_key=True, sa_column_kwargs=SOURCE_KEY)
    title: str = Field(max_length=255)
    category: str = Field(max_length=25)
    release_year: int
    rating: str = Field(max_length=5)
    rental_duration: int
    rental_rate: Decimal = Field(sa_type=Numeric(4, 2))


class FilmActor(ReferenceTable, table=True):
    """Who plays in which film (a link table: both keys make the primary key)."""

    __tablename__ = "pagila_film_actor"

    film_id: int = Field(primary_key=True, foreign_key="pagila_film.film_id")
    actor_id: int = Field(primary_key=True, foreign_key="pagila_actor.actor_id")


class Customer(ReferenceTable, table=True):
    """A customer; e-mail and store change, and a customer who leaves is inactivated."""

    __tablename__ = "pagila_customer"

    customer_id: int = Field(primary_key=True, sa_column_kwargs=SOURCE_KEY)
    first_name: str = Field(max_length=45)
    last_name: str = Field(max_length=45)
    email: str = Field(max_length=100)
    store_id: int


class Rental(TransactionalTable, table=True):
    """One rental; `return_date` is set when the film comes back."""

    __tablename__ = "pagila_rental"
    __history__ = True  # the return is an update: keep the open version too

    rental_id: int = Field(primary_key=True, sa_column_kwargs=SOURCE_KEY)
    rental_date: datetime = Field(sa_type=UTCDateTime)
    film_id: int = Field(foreign_key="pagila_film.film_id")
    customer_id: int = Field(foreign_key="pagila_customer.customer_id")
    return_date: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Payment(TransactionalTable, table=True):
    """What a customer paid for a rental: the film's rental rate on the rental day."""

    __tablename__ = "pagila_payment"

    payment_id: int = Field(primary_key=True, sa_column_kwargs=SOURCE_KEY)
    rental_id: int = Field(foreign_key="pagila_rental.rental_id")
    customer_id: int = Field(foreign_key="pagila_customer.customer_id")
    amount: Decimal = Field(sa_type=Numeric(5, 2))
    payment_date: datetime = Field(sa_type=UTCDateTime)


#: Every table, in the order deploy() and loads need them (parents first).
TABLES = (Actor, Film, FilmActor, Customer, Rental, Payment)
