"""Duplicate detection for customers and contacts, on the normalized keys stored with each row.

A customer looks like another when a company name, a phone or an email has the
same key (see :mod:`.normalize`); a contact when a phone or an email does.
Only the first phone and email of a stored record are indexed; all phones and
emails of a candidate row are compared with them.

:func:`lookalikes` answers the kernel's ``find_duplicates`` hook for a whole batch
of candidate rows: one query per entity finds every stored row sharing a key with
any candidate, and the batch is compared with itself in memory, so an import of
200 rows costs one query, not 200.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from kernel import BATCH_ROW, phone_region, texts_in

from .models import Contact, Customer
from .normalize import company_key, email_keys, phone_keys

if TYPE_CHECKING:
    from kernel import Site

CUSTOMERS = Customer.__table__
CONTACTS = Contact.__table__
TABLES = {"customers": CUSTOMERS, "contacts": CONTACTS}
#: Stored look-alikes reported per row, at most.
MAX_MATCHES = 20
KEY_COLUMNS = ("name_key", "phone_key", "email_key")


def row_keys(entity: str, values: dict[str, Any], region: str = "CN") -> set[tuple[str, str]]:
    """The ``(column, key)`` pairs a candidate ``entity`` row is compared on (phones as E.164, read in ``region``)."""
    keys = {("phone_key", k) for k in phone_keys([values.get("phone"), *(values.get("phones") or ())], region)}
    keys |= {("email_key", k) for k in email_keys([values.get("email"), *(values.get("emails") or ())])}
    if entity == "customers" and values.get("kind", "company") == "company":
        name = company_key(values.get("name"))
        if name:
            keys.add(("name_key", name))
    return keys


def lookalikes(site: Site, conn: sa.Connection, entity: str, rows: list[dict[str, Any]]) -> list[list[tuple[str, int]]]:
    """Per row of ``rows``: ``(entity, id)`` of stored records sharing a key, then ``(BATCH_ROW, i)``
    of earlier rows of the batch sharing one. A row's own ``id`` (a stored record) is left out."""
    table = TABLES[entity]
    region = phone_region(site)
    keys = [row_keys(entity, row, region) for row in rows]
    stored = _stored_by_key(conn, table, set().union(*keys)) if keys else {}
    seen: dict[tuple[str, str], list[int]] = {}  # key → earlier rows of the batch
    answer = []
    for index, (row, row_keys_) in enumerate(zip(rows, keys)):
        pairs: list[tuple[str, int]] = []
        if stored:
            ids = {id_ for key in row_keys_ if key in stored for id_ in stored[key]}
            ids.discard(row.get("id"))
            pairs = [(entity, id_) for id_ in sorted(ids)[:MAX_MATCHES]]
        earlier = {i for key in row_keys_ if key in seen for i in seen[key]}
        if earlier:
            pairs += [(BATCH_ROW, i) for i in sorted(earlier)]
        answer.append(pairs)
        for key in row_keys_:
            seen.setdefault(key, []).append(index)
    return answer


def _stored_by_key(conn: sa.Connection, table: sa.Table, keys: set[tuple[str, str]]) -> dict[tuple[str, str], list[int]]:
    """Ids of stored rows by the ``(column, key)`` they share with ``keys``, in one query (each column's keys
    bound as one value on PostgreSQL: :func:`kernel.texts_in`)."""
    if not keys:
        return {}
    columns = [name for name in KEY_COLUMNS if name in table.c]
    wanted = {name: sorted(key for column, key in keys if column == name) for name in columns}
    conditions = [texts_in(table.c[name], values, conn.dialect.name) for name, values in wanted.items() if values]
    found: dict[tuple[str, str], list[int]] = defaultdict(list)
    for row in conn.execute(sa.select(table.c.id, *(table.c[name] for name in columns)).where(sa.or_(*conditions)).order_by(table.c.id)):
        for name in columns:
            key = (name, row._mapping[name])
            if key in keys:
                found[key].append(row.id)
    return found
