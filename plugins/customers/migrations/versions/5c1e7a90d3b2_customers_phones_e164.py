"""phones stored as E.164: customers' and contacts' phone numbers normalized, dedupe keys recomputed

Numbers that parse (in the site's phone_region, default CN) are rewritten as E.164
(``13800138000`` → ``+8613800138000``); numbers that do not are left as they are and
listed in this migration's log (logger ``alembic.runtime.migration``), one line per record,
for someone to correct by hand. ``phone_key`` is recomputed from the result.

Revision ID: 5c1e7a90d3b2
Revises: 6b1f0e2d4c17
Create Date: 2026-12-01 22:00:00
"""

from __future__ import annotations

import logging
import unicodedata
from typing import Any

import sqlalchemy as sa
from alembic import op

from kernel import JSONData, phone_e164

revision = '5c1e7a90d3b2'
down_revision = '6b1f0e2d4c17'
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")
TABLES = ("customers_customers", "customers_contacts")


def _region(conn: sa.Connection) -> str:
    """The admin's phone_region if one was set at run time, else CN."""
    settings = sa.table("kernel_settings", sa.column("scope"), sa.column("name"), sa.column("value", JSONData))
    if not sa.inspect(conn).has_table("kernel_settings"):
        return "CN"
    value = conn.scalar(sa.select(settings.c.value).where(settings.c.scope == "crm", settings.c.name == "phone_region"))
    return value if isinstance(value, str) and len(value) == 2 else "CN"


def _normal(text: Any, region: str) -> tuple[Any, bool]:
    """(the value to store, whether it could be read)."""
    if not isinstance(text, str) or not text.strip():
        return text, True
    found = phone_e164(unicodedata.normalize("NFKC", text), region)
    return (found, True) if found else (text, False)


def upgrade() -> None:
    from plugins.customers.normalize import phone_keys

    conn = op.get_bind()
    region = _region(conn)
    for name in TABLES:
        table = sa.table(name, sa.column("id"), sa.column("phone"), sa.column("phones", JSONData), sa.column("phone_key"))
        unreadable = 0
        for row in conn.execute(sa.select(table.c.id, table.c.phone, table.c.phones).order_by(table.c.id)).all():
            phone, ok = _normal(row.phone, region)
            bad = [] if ok else [row.phone]
            phones = []
            for item in row.phones or []:
                value, ok = _normal(item, region)
                phones.append(value)
                if not ok:
                    bad.append(item)
            if bad:
                unreadable += 1
                log.warning("%s %s: left as they were, not phone numbers in region %s: %s", name, row.id, region, ", ".join(map(repr, bad)))
            keys = phone_keys([phone, *phones], region)
            changed = {"phone": phone, "phones": list(dict.fromkeys(phones)), "phone_key": keys[0] if keys else None}
            conn.execute(sa.update(table).where(table.c.id == row.id).values(**changed))
        if unreadable:
            log.warning("%s: %d record(s) keep phone numbers that could not be read (listed above)", name, unreadable)


def downgrade() -> None:
    pass  # E.164 is a valid way to write every number: nothing to undo
