"""Names of the records a page or an export refers to: ``owner_id`` 7 is "李娜", ``customer_id`` 3 is its name.

:func:`reference_titles` reads them for many records at once, one query per referenced
entity, under the reader's record rules: a record the reader may not see keeps its ``#id``.
A record is named by its first non-empty title column (``name``, ``title``, ``subject``,
``email``, ``code``; see :data:`kernel.entities.TITLE_COLUMNS`), so a user without a name
is shown by email.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .entities import TITLE_COLUMNS, title_column
from .errors import RecordError

if TYPE_CHECKING:
    from .fielddescriptions import FormField
    from .records import Actor
    from .site import Site

#: Widgets whose values are ids of another entity's records.
REFERENCE_WIDGETS = ("reference", "list")


def referenced_ids(fields: Iterable[FormField], records: Iterable[dict[str, Any]]) -> dict[str, set[int]]:
    """``{entity: ids}`` of every record the reference fields of ``records`` point at."""
    wanted: dict[str, set[int]] = {}
    fields = [f for f in fields if f.widget in REFERENCE_WIDGETS and f.reference]
    for record in records:
        for form_field in fields:
            value = (record.get("custom") or {}).get(form_field.name) if form_field.custom else record.get(form_field.name)
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, int) and not isinstance(item, bool):
                    wanted.setdefault(form_field.reference or "", set()).add(item)
    return wanted


def reference_titles(
    site: Site, actor: Actor, fields: Iterable[FormField], records: Iterable[dict[str, Any]]
) -> dict[tuple[str, int], str]:
    """``{(entity, id): title}`` for every record the given reference fields point at, one query
    per referenced entity; only records ``actor`` may see are named."""
    titles: dict[tuple[str, int], str] = {}
    for target_name, ids in referenced_ids(fields, records).items():
        target = site.view.entity(target_name)
        if target is None or title_column(target) is None:
            continue
        named_by = [target.table.c[name] for name in TITLE_COLUMNS if name in target.columns] or [target.table.c[title_column(target)]]
        try:
            query = site.records.list_query(actor, target_name, limit=len(ids))
        except RecordError:  # the reader may not list that entity at all
            continue
        query = query.where(target.table.c.id.in_(ids)).with_only_columns(target.table.c.id, *named_by)
        with site.engine.connect() as conn:
            for row in conn.execute(query):
                title = next((str(value) for value in row[1:] if value not in (None, "")), None)
                if title is not None:
                    titles[(target_name, row[0])] = title
    return titles
