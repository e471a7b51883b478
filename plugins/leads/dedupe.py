"""Duplicate detection for leads, against leads and customers, with the customers plugin's
Chinese-aware keys (company names without legal-form suffixes, phones as E.164, emails folded).

A lead stores its keys (``company_key``, ``phone_key``, ``email_key``, hidden columns written by
:func:`store_keys`); :func:`lookalikes` answers ``find_duplicates`` for a batch with one query on
leads and one on customers, and compares the batch with itself in memory."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from kernel import BATCH_ROW, phone_region
from plugins.customers import company_key, email_key, phone_key

from .models import LEADS

if TYPE_CHECKING:
    from kernel import Site

MAX_MATCHES = 20
#: The lead's key column → the customer's column holding the same key.
CUSTOMER_COLUMN = {"company_key": "name_key", "phone_key": "phone_key", "email_key": "email_key"}


def keys_of(values: dict[str, Any], region: str) -> dict[str, str]:
    found = {"company_key": company_key(values.get("company")), "phone_key": phone_key(values.get("phone"), region),
             "email_key": email_key(values.get("email"))}
    return {name: key for name, key in found.items() if key}


def store_keys(site: Site, values: dict[str, Any], record: dict[str, Any] | None = None) -> None:
    """Set the lead's key columns from its company, phone and email (in place, on create or update)."""
    if record is not None and not any(name in values for name in ("company", "phone", "email")):
        return
    merged = {**(record or {}), **values}
    keys = keys_of(merged, phone_region(site))
    for name in CUSTOMER_COLUMN:
        values[name] = keys.get(name)


def _ids_by_key(conn: sa.Connection, table: sa.Table, columns: dict[str, str], wanted: dict[str, set[str]]) -> dict[tuple[str, str], list[int]]:
    """Ids of ``table``'s rows sharing a key, by ``(lead key column, key)``, in one query."""
    conditions = [table.c[column].in_(sorted(wanted[name])) for name, column in columns.items() if wanted.get(name)]
    if not conditions:
        return {}
    found: dict[tuple[str, str], list[int]] = defaultdict(list)
    query = sa.select(table.c.id, *(table.c[c].label(n) for n, c in columns.items())).where(sa.or_(*conditions)).order_by(table.c.id)
    for row in conn.execute(query):
        for name in columns:
            key = row._mapping[name]
            if key in wanted.get(name, ()):
                found[(name, key)].append(row.id)
    return found


def lookalikes(site: Site, conn: sa.Connection, rows: list[dict[str, Any]]) -> list[list[tuple[str, int]]]:
    """Per candidate lead: ``("leads", id)`` and ``("customers", id)`` sharing a key, then ``(BATCH_ROW, i)``."""
    region = phone_region(site)
    keys = [keys_of(row, region) for row in rows]
    wanted: dict[str, set[str]] = defaultdict(set)
    for row_keys in keys:
        for name, key in row_keys.items():
            wanted[name].add(key)
    leads = _ids_by_key(conn, LEADS, {n: n for n in CUSTOMER_COLUMN}, wanted)
    customers_entity = site.view.entity("customers")
    customers = _ids_by_key(conn, customers_entity.table, CUSTOMER_COLUMN, wanted) if customers_entity is not None else {}
    seen: dict[tuple[str, str], list[int]] = defaultdict(list)
    answer = []
    for index, (row, row_keys) in enumerate(zip(rows, keys)):
        pairs = list(row_keys.items())
        lead_ids = sorted({i for p in pairs for i in leads.get(p, ())} - {row.get("id")})
        customer_ids = sorted({i for p in pairs for i in customers.get(p, ())})
        earlier = sorted({i for p in pairs for i in seen[p]})
        answer.append([("leads", i) for i in lead_ids[:MAX_MATCHES]] + [("customers", i) for i in customer_ids[:MAX_MATCHES]]
                      + [(BATCH_ROW, i) for i in earlier])
        for pair in pairs:
            seen[pair].append(index)
    return answer
