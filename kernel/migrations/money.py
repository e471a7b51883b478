"""For the money migration (0012): custom money values from JSON numbers to decimal strings.

Until 0012 a ``format: money`` custom field stored its values as JSON numbers
(floats). :func:`convert` rewrites them, in every record table that holds
such a field, as the decimal text the field now stores (``12.5`` → ``"12.50"``
for CNY). A value that does not fit its currency (a stored ``12.5`` on a JPY
field) is kept exactly (``"12.5"``), never rounded away: the next write of that
record asks for a proper amount. Definitions that name no currency get the
site's ``default_currency`` (crm.toml), so that value never changes under them.

The tables come from every *installed* plugin's entities (enabled or not), so a
disabled plugin's records are converted too; a table not created yet is skipped.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from ..db import JSONData
from ..money import MINOR_UNITS, parse_money

DEFS = sa.table("kernel_custom_fields", sa.column("id"), sa.column("entity"), sa.column("name"), sa.column("schema", JSONData))


def entity_tables(site: Any) -> dict[str, str]:
    """Entity name → table name for every installed plugin's entities."""
    tables: dict[str, str] = {}
    from ..plugins import make_plugin_manager

    for impl in make_plugin_manager(site.installed.values()).hook.register_entities.get_hookimpls():
        for entity in impl.function() or ():
            tables[entity.name] = entity.table.name
    return tables


def money_text(value: Any, currency: str) -> str:
    """A stored JSON number as decimal text: the field's amount, or the exact value when it does not fit."""
    try:
        return format(parse_money(value, currency), "f")
    except ValueError:
        return format(Decimal(repr(value) if isinstance(value, float) else str(value)), "f")


def _is_number(dialect: str, name: str) -> sa.ColumnElement[bool]:
    if dialect == "postgresql":
        return sa.literal_column(f"jsonb_typeof(custom -> '{name}')") == "number"
    return sa.literal_column(f"json_type(custom, '$.{name}')").in_(("integer", "real"))


def convert(bind: sa.Connection, site: Any, default_currency: str) -> int:
    """Rewrite stored money values as decimal strings; returns how many records changed."""
    tables = entity_tables(site)
    existing = set(sa.inspect(bind).get_table_names())
    fields: dict[str, list[tuple[str, str]]] = {}
    for row in bind.execute(sa.select(DEFS.c.id, DEFS.c.entity, DEFS.c.name, DEFS.c.schema)).all():
        schema = row.schema
        if schema.get("type") != "number" or schema.get("format") != "money":
            continue
        if schema.get("x-currency") not in MINOR_UNITS:
            schema = {**schema, "x-currency": schema.get("x-currency") if "x-currency" in schema else default_currency}
            if schema["x-currency"] not in MINOR_UNITS:
                schema["x-currency"] = default_currency  # an unknown code (only the pattern was checked before)
            bind.execute(sa.update(DEFS).where(DEFS.c.id == row.id).values(schema=schema))
        fields.setdefault(row.entity, []).append((row.name, schema["x-currency"]))
    changed = 0
    for entity, named in fields.items():
        table_name = tables.get(entity)
        if table_name is None or table_name not in existing:
            continue
        table = sa.table(table_name, sa.column("id"), sa.column("custom", JSONData))
        condition = sa.or_(*(_is_number(bind.dialect.name, name) for name, _ in named))
        updates = []
        for record in bind.execute(sa.select(table.c.id, table.c.custom).where(condition)).all():
            custom = dict(record.custom)
            for name, currency in named:
                value = custom.get(name)
                if isinstance(value, int | float) and not isinstance(value, bool):
                    custom[name] = money_text(value, currency)
            updates.append({"key": record.id, "custom": custom})
        if updates:
            bind.execute(sa.update(table).where(table.c.id == sa.bindparam("key")).values(custom=sa.bindparam("custom")), updates)
        changed += len(updates)
    return changed
