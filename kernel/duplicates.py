"""Look-alike records: the ``find_duplicates`` hook's answers, as one caller may know them.

Plugins answer the hook for a batch of candidate rows (not yet stored) with,
per row, the ``(entity, id)`` pairs of stored records that look alike, and
``(BATCH_ROW, i)`` for an earlier row ``i`` of the same batch. The kernel merges
every plugin's answer and then keeps only what the caller may read: the
others are counted (``hidden``) but never named, so a look-alike in another
team's records tells a rep nothing but that it exists. A look-alike with fields masked for the
caller (:mod:`kernel.masking`) is counted likewise: naming it would tell whose phone was typed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from . import masking
from .errors import Conflict, ValidationError

if TYPE_CHECKING:
    from .records import Actor, Records
    from .site import View

#: The entity part of a pair that names an earlier row of the same batch, not a stored record.
BATCH_ROW = "#row"
#: At most this many look-alikes are named per row.
MAX_NAMED = 20


def ask_manager(hidden: int) -> str:
    """``"3 similar records exist that you cannot see — ask your manager"``: a count, never a name."""
    what = "1 similar record exists" if hidden == 1 else f"{hidden} similar records exist"
    return f"{what} that you cannot see — ask your manager"


@dataclass(frozen=True)
class Lookalikes:
    """What looks like one candidate row, for one caller.

    ``records``: ``(entity, id)`` of stored records the caller may read; ``hidden``: how
    many other stored records look alike (the caller may not read them, so they are not
    named); ``rows``: indexes of earlier rows of the same batch that look alike.
    """

    records: tuple[tuple[str, int], ...] = ()
    hidden: int = 0
    rows: tuple[int, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.records or self.hidden or self.rows)

    def ids(self, entity: str) -> list[int]:
        """The ids of readable look-alikes of ``entity``."""
        return [id_ for name, id_ in self.records if name == entity]

    def warning(self, entity: str) -> dict[str, Any]:
        """The API's warning: ``{"code": "duplicate", "ids": [...], "hidden": N}``.

        ``ids`` are readable ``entity`` records; look-alikes of other entities are listed
        as ``"records": [{"entity", "id"}]`` when there are any.
        """
        found: dict[str, Any] = {"code": "duplicate", "ids": self.ids(entity), "hidden": self.hidden}
        if any(name != entity for name, _ in self.records):
            found["records"] = [{"entity": name, "id": id_} for name, id_ in self.records]
        return found

    def message(self, entity: str) -> str:
        """In words, naming only what the caller may read."""
        parts = []
        if self.records:
            parts.append("this looks like " + ", ".join(f"{name} {id_}" for name, id_ in self.records))
        if self.rows:
            parts.append("it looks like row " + ", ".join(str(i) for i in self.rows) + " of this batch")
        if self.hidden:
            parts.append(ask_manager(self.hidden))
        return "; ".join(parts)


class Duplicate(Conflict):
    """409: a create was refused (``on_duplicate="refuse"``) because a row looks like existing records.

    ``found`` holds the :class:`Lookalikes` of each row of the batch (empty for rows without).
    """

    def __init__(self, entity: str, found: Sequence[Lookalikes]):
        first = next(index for index, item in enumerate(found) if item)
        lookalikes = found[first]
        prefix = f"row {first}: " if len(found) > 1 else ""
        details = [
            {"loc": [index, "body"] if len(found) > 1 else ["body"], "msg": "possible duplicate", **item.warning(entity)}
            for index, item in enumerate(found)
            if item
        ]
        super().__init__(prefix + lookalikes.message(entity), details)
        self.found = list(found)


def ask_plugins(view: View, site: Any, conn: sa.Connection, entity: str, rows: list[dict[str, Any]]) -> list[set[tuple[str, int]]]:
    """Every plugin's ``find_duplicates`` answer for ``rows``, merged per row."""
    merged: list[set[tuple[str, int]]] = [set() for _ in rows]
    copies = [dict(row) for row in rows]  # an answer cannot change what is about to be stored
    for answer in view.pm.hook.find_duplicates(site=site, conn=conn, entity=entity, rows=copies):
        if answer is None:
            continue
        if len(answer) != len(rows):
            raise TypeError(f"a find_duplicates answer must have one list per row ({len(rows)}), not {len(answer)}")
        for index, pairs in enumerate(answer):
            for name, id_ in pairs or ():
                if name == BATCH_ROW and not 0 <= int(id_) < index:
                    raise TypeError(f"row {index}: ({BATCH_ROW!r}, {id_}) must name an earlier row of the batch")
                merged[index].add((str(name), int(id_)))
    return merged


def as_seen_by(records: Records, view: View, conn: sa.Connection, actor: Actor, found: list[set[tuple[str, int]]]) -> list[Lookalikes]:
    """``found`` split into what ``actor`` may read and a count of the rest: one query per entity named."""
    wanted: dict[str, set[int]] = defaultdict(set)
    for pairs in found:
        for name, id_ in pairs:
            if name != BATCH_ROW:
                wanted[name].add(id_)
    readable: set[tuple[str, int]] = set()
    for name, ids in wanted.items():
        named = records.readable_ids(actor, name, ids, conn=conn)
        entity = view.entities.get(name)
        if named and entity is not None and view.masks.get(name):  # a masked look-alike is counted, never named
            masked = masking.masked_fields(records.site, conn, actor, entity, named)
            named = [id_ for id_ in named if id_ not in masked]
        readable.update((name, id_) for id_ in named)
    result = []
    nothing = Lookalikes()  # frozen: one for every row that looks like nothing
    for pairs in found:
        if not pairs:
            result.append(nothing)
            continue
        stored = sorted(pair for pair in pairs if pair[0] != BATCH_ROW)
        named = [pair for pair in stored if pair in readable]
        result.append(
            Lookalikes(
                records=tuple(named[:MAX_NAMED]),
                hidden=len(stored) - len(named),
                rows=tuple(sorted(id_ for name, id_ in pairs if name == BATCH_ROW)),
            )
        )
    return result


def candidate_rows(rows: Any) -> list[dict[str, Any]]:
    """``rows`` checked to be a list of JSON objects (a 422 naming the row otherwise); not copied:
    :func:`ask_plugins` hands the plugins copies."""
    if not isinstance(rows, (list, tuple)):
        raise ValidationError.at(["body"], "must be a list of records")
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            raise ValidationError.at([index], "must be a JSON object")
    return list(rows)


