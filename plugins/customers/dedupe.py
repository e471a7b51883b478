"""Duplicate detection for customers and contacts, on the normalized keys stored with each row.

A customer looks like another when a company name, a phone or an email has the
same key (see :mod:`.normalize`); a contact when a phone or an email does.
Only the first phone and email of a stored record are indexed; all phones and
emails of the record being checked are compared with them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from .models import Contact, Customer
from .normalize import company_key, email_keys, phone_keys

if TYPE_CHECKING:
    from kernel import Site

CUSTOMERS = Customer.__table__
CONTACTS = Contact.__table__
MAX_MATCHES = 20


def find_duplicate_customers(site: Site, conn: sa.Connection, values: dict[str, Any]) -> list[int]:
    """Ids of stored customers that look like ``values`` (a record or a would-be record), its own id excluded."""
    conditions = _reachable_conditions(CUSTOMERS, values)
    if values.get("kind", "company") == "company":
        name = company_key(values.get("name"))
        if name:
            conditions.append(CUSTOMERS.c.name_key == name)
    return _matches(conn, CUSTOMERS, conditions, values.get("id"))


def find_duplicate_contacts(site: Site, conn: sa.Connection, values: dict[str, Any]) -> list[int]:
    """Ids of stored contacts sharing a phone or an email with ``values``, its own id excluded."""
    return _matches(conn, CONTACTS, _reachable_conditions(CONTACTS, values), values.get("id"))


def _reachable_conditions(table: sa.Table, values: dict[str, Any]) -> list[sa.ColumnElement[bool]]:
    phones = phone_keys([values.get("phone"), *(values.get("phones") or ())])
    emails = email_keys([values.get("email"), *(values.get("emails") or ())])
    conditions = []
    if phones:
        conditions.append(table.c.phone_key.in_(phones))
    if emails:
        conditions.append(table.c.email_key.in_(emails))
    return conditions


def _matches(conn: sa.Connection, table: sa.Table, conditions: list[sa.ColumnElement[bool]], own_id: int | None) -> list[int]:
    if not conditions:
        return []
    query = sa.select(table.c.id).where(sa.or_(*conditions))
    if own_id is not None:
        query = query.where(table.c.id != own_id)
    return list(conn.scalars(query.order_by(table.c.id).limit(MAX_MATCHES)))
