"""References by natural key in imports: a record by its name or code instead of its id, a user by email.

A column that fills a reference field (a built-in ``*_id`` or a custom ``x-entity`` field) may
hold the referenced record's id or a value of one of its natural keys (``register_natural_keys``;
by default its unique text columns and its title column). :class:`References` looks up every
such value of a batch in one query per referenced entity and key column, within the importing
user's record rules, and reports values that name no record or several.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from .entities import title_column

if TYPE_CHECKING:
    from .entities import Entity
    from .importing import Column, RowIssue
    from .records import Actor
    from .site import Site


def natural_keys(site: Site, entity: Entity) -> list[str]:
    """The columns that name one ``entity`` record besides its id."""
    declared: list[str] = []
    for answer in site.view.pm.hook.register_natural_keys():
        declared.extend((answer or {}).get(entity.name) or ())
    if declared:
        return [name for name in dict.fromkeys(declared) if name in entity.table.c]
    table = entity.table
    found = [c.name for c in table.c if c.unique and isinstance(c.type, sa.String)]
    found += [name for constraint in table.constraints if isinstance(constraint, sa.UniqueConstraint) and len(constraint.columns) == 1
              for name in constraint.columns.keys() if isinstance(table.c[name].type, sa.String)]
    title = title_column(entity)
    if title is not None and isinstance(table.c[title].type, sa.String):
        found.append(title)
    return list(dict.fromkeys(found))


class References:
    """Resolves the natural-key values of an import's reference columns, a batch at a time."""

    def __init__(self, site: Site, actor: Actor, columns: Sequence[Column]):
        self.site, self.actor = site, actor
        self.columns = [c for c in columns if c.field is not None and c.field.reference and c.field.widget in ("reference", "integer")]

    def resolve(self, conn: sa.Connection, batch: list[tuple[int, dict[str, Any]]]) -> tuple[list[tuple[int, dict[str, Any]]], list[RowIssue]]:
        """``batch`` with natural keys replaced by ids, and the rows whose value names no record or several."""
        from .importing import RowIssue

        if not self.columns:
            return batch, []
        bad: dict[int, RowIssue] = {}
        for column in self.columns:
            field = column.field
            assert field is not None
            wanted = {text for _, data in batch if isinstance(text := _value(data, field), str) and text.strip()}
            if not wanted:
                continue
            ids = self._lookup(conn, field.reference, wanted)
            target = field.reference
            for number, data in batch:
                text = _value(data, field)
                if not isinstance(text, str) or number in bad:
                    continue
                found = ids.get(text, set())
                if len(found) == 1:
                    _set(data, field, next(iter(found)))
                else:
                    reason = f"no {target} record is named {text!r}" if not found else f"{text!r} names {len(found)} {target} records; give its id or another key"
                    bad[number] = RowIssue(number, reason, column.header)
        return [(n, d) for n, d in batch if n not in bad], list(bad.values())

    def _lookup(self, conn: sa.Connection, target_name: str | None, wanted: set[str]) -> dict[str, set[int]]:
        entity = self.site.view.entity(target_name) if target_name else None
        found: dict[str, set[int]] = defaultdict(set)
        if entity is None:
            return found
        table = entity.table
        visible = self.site.records.visible(self.actor, entity.name)
        values = sorted(wanted)
        for name in natural_keys(self.site, entity):
            for start in range(0, len(values), 1000):
                part = values[start : start + 1000]
                for row in conn.execute(sa.select(table.c.id, table.c[name]).where(table.c[name].in_(part), visible)):
                    found[row[1]].add(row.id)
        return found


def _value(data: dict[str, Any], field: Any) -> Any:
    return (data.get("custom") or {}).get(field.name) if field.custom else data.get(field.name)


def _set(data: dict[str, Any], field: Any, value: int) -> None:
    if field.custom:
        data["custom"][field.name] = value
    else:
        data[field.name] = value
