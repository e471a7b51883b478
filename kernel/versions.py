"""Record versions for edit conflicts: an ETag per record, checked against ``If-Match`` in the write.

A record's version is a digest of the values a reader sees (every visible column,
``updated_at`` included), so any write changes it and no column is needed for it.
``GET`` answers it as ``ETag``; a ``PATCH`` or an action sent with ``If-Match``
is checked against the record as locked in the write's own transaction, so two
editors who loaded the same version cannot both save: the second gets
:class:`EditConflict` (409) carrying the record as it is now.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

import orjson

from .audit import jsonable
from .errors import Conflict

if TYPE_CHECKING:
    from .entities import Entity


class EditConflict(Conflict):
    """The record changed since the version the caller sent in ``If-Match``; ``record`` is the current one."""

    def __init__(self, entity: str, record: dict[str, Any], current: str):
        super().__init__(
            f"{entity} record {record['id']} was changed by someone else since you loaded it; nothing was written",
            [{"loc": ["header", "If-Match"], "msg": f"the current version is {current}"}],
        )
        self.record, self.version = record, current


def etag(entity: Entity, record: dict[str, Any]) -> str:
    """The record's version as an HTTP entity tag (quoted)."""
    values = {name: jsonable(record.get(name)) for name in entity.columns}
    digest = hashlib.sha256(orjson.dumps(values, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)).hexdigest()
    return f'"{digest[:32]}"'


def matches(if_match: str, current: str) -> bool:
    """``If-Match`` holds ``*`` or a list of tags, one of them ``current`` (a ``W/`` prefix is ignored)."""
    tags = [tag.strip().removeprefix("W/") for tag in if_match.split(",")]
    return "*" in tags or current in tags


def check(entity: Entity, record: dict[str, Any], if_match: str | None) -> None:
    """Raise :class:`EditConflict` unless ``if_match`` is absent or names the record's version."""
    if if_match is None:
        return
    current = etag(entity, record)
    if not matches(if_match, current):
        raise EditConflict(entity.name, {k: record.get(k) for k in entity.columns}, current)
