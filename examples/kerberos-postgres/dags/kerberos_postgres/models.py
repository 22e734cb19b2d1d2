"""Tables of kerberos-postgres (sqlmodel_framework models).

A ReferenceTable holds slowly changing reference data: the database itself
keeps every previous version in <table>_history, and `as_of()` reads the
table as it was at any time. A TransactionalTable holds facts that arrive
over time. Import this module inside tasks only: DAG files must parse without
importing table definitions.
"""

from __future__ import annotations

from sqlmodel import Field
from sqlmodel_framework import ReferenceTable


class Customer(ReferenceTable, table=True):
    """One customer, keyed by the source system's customer number."""

    __tablename__ = "kerberos_postgres_customer"

    customer_number: str = Field(primary_key=True, max_length=20)
    name: str = Field(max_length=200)
    country_code: str = Field(max_length=2)
