"""Numbering sequences: ``DOC-2026-000123``-style numbers, unique and gap-free.

An entity declares which of its columns are numbered, and from which sequence::

    Entity(..., numbered={"number": NumberSequence("documents", prefix="DOC-{year}-", padding=6, reset="yearly")})

:meth:`kernel.records.Records.create_many` fills the column in the write transaction:
one ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` on the counter row of the sequence and
period (``kernel_sequence_counters``) takes a block of numbers for the whole batch. The
counter row stays locked until the transaction ends (PostgreSQL's row lock; SQLite's
``BEGIN IMMEDIATE`` write lock), so concurrent creates queue on it and a rolled-back
create gives its number back: numbers are unique and have no gaps.

The period comes from the site clock in the sequence's ``time_zone`` (UTC unless the
declaration or an admin says otherwise; the kernel has no site-wide time zone).
Admins change prefix, padding, reset, time zone and the next number through
``/api/v1/meta/sequences`` (:func:`change`); their settings live in ``kernel_sequences``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from . import audit
from .errors import NotFound, PluginError, ValidationError
from .models import SequenceCounter, SequenceSetting

if TYPE_CHECKING:
    from .entities import Entity
    from .records import Actor
    from .site import Site

SETTINGS = SequenceSetting.__table__
COUNTERS = SequenceCounter.__table__
RESETS = ("yearly", "monthly", "never")
#: The placeholders a prefix may hold, and which reset needs which of them (else numbers would repeat).
PLACEHOLDERS = ("{year}", "{month}")
NEEDS = {"yearly": ("{year}",), "monthly": ("{year}", "{month}"), "never": ()}
MAX_PREFIX = 40
MAX_PADDING = 12
#: A numbered column must hold at least this many characters (the longest prefix, padding and some).
MIN_COLUMN_LENGTH = 64
SEQUENCE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
CHANGES = ("prefix", "padding", "reset", "time_zone", "next")
AUDIT_ENTITY = "sequences"


@dataclass(frozen=True)
class NumberSequence:
    """How the numbers of one sequence look and when they start again at 1.

    ``name`` identifies the counter (entities that share it share the numbers); ``prefix`` may
    hold ``{year}`` and ``{month}`` (two digits); the number is zero-padded to ``padding``
    digits; ``reset`` is ``"yearly"``, ``"monthly"`` or ``"never"``; the period (and the prefix's
    year and month) is the site clock's date in ``time_zone``. Admins may change all but ``name``.
    """

    name: str
    prefix: str = ""
    padding: int = 6
    reset: str = "never"
    time_zone: str = "UTC"

    def period(self, now: datetime) -> str:
        """The counter's period at ``now``: ``"2026"``, ``"2026-03"``, or ``""`` (never resets)."""
        local = now.astimezone(ZoneInfo(self.time_zone))
        return {"yearly": f"{local.year}", "monthly": f"{local.year}-{local.month:02d}", "never": ""}[self.reset]

    def render(self, now: datetime, value: int) -> str:
        """The number ``value`` as written at ``now``: ``DOC-2026-000123``."""
        local = now.astimezone(ZoneInfo(self.time_zone))
        prefix = self.prefix.replace("{year}", f"{local.year}").replace("{month}", f"{local.month:02d}")
        return f"{prefix}{value:0{self.padding}d}"


def problems(sequence: NumberSequence) -> dict[str, str]:
    """What is wrong with ``sequence``, field → reason (empty when it can be used)."""
    found: dict[str, str] = {}
    if not isinstance(sequence.name, str) or not SEQUENCE_NAME.match(sequence.name):
        found["name"] = "must be snake_case ASCII, at most 40 characters"
    if not isinstance(sequence.reset, str) or sequence.reset not in RESETS:
        found["reset"] = f"must be one of {', '.join(RESETS)}"
    if not isinstance(sequence.padding, int) or isinstance(sequence.padding, bool) or not 1 <= sequence.padding <= MAX_PADDING:
        found["padding"] = f"must be a whole number from 1 to {MAX_PADDING}"
    prefix = sequence.prefix
    if not isinstance(prefix, str) or len(prefix) > MAX_PREFIX:
        found["prefix"] = f"must be text of at most {MAX_PREFIX} characters"
    else:
        bare = prefix
        for placeholder in PLACEHOLDERS:
            bare = bare.replace(placeholder, "")
        if "{" in bare or "}" in bare:
            found["prefix"] = "may hold only the placeholders {year} and {month}"
        elif any(c.isspace() or not c.isprintable() for c in prefix):
            found["prefix"] = "may not hold spaces or control characters"
        elif "reset" not in found:
            missing = [p for p in NEEDS[sequence.reset] if p not in prefix]
            if missing:
                found["prefix"] = f"a {sequence.reset} reset needs {' and '.join(missing)} in the prefix, or numbers would repeat"
    try:
        if not isinstance(sequence.time_zone, str) or len(sequence.time_zone) > 64:
            raise ValueError(sequence.time_zone)
        ZoneInfo(sequence.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        found["time_zone"] = "must be an IANA time zone name such as UTC or Asia/Shanghai"
    return found


def check_numbered(entity: Entity) -> None:
    """Refuse, at start-up, a ``numbered`` declaration the kernel could not honour."""
    for column_name, sequence in entity.numbered.items():
        where = f"entity {entity.name!r}: numbered field {column_name!r}"
        if not isinstance(sequence, NumberSequence):
            raise TypeError(f"{where}: give a NumberSequence")
        wrong = problems(sequence)
        if wrong:
            key, reason = next(iter(wrong.items()))
            raise TypeError(f"{where}: {key} {reason}")
        column = entity.table.c.get(column_name)
        if column is None or not isinstance(column.type, sa.String):
            raise TypeError(f"{where}: must be a text column of the table")
        if column.type.length is not None and column.type.length < MIN_COLUMN_LENGTH:
            raise TypeError(f"{where}: the column must hold at least {MIN_COLUMN_LENGTH} characters")
        if column_name in entity.fields.model_fields:
            raise TypeError(f"{where}: the kernel fills it; leave it out of the input fields")


def check_shared(entities: Iterable[Entity]) -> None:
    """Entities sharing a sequence must declare it alike (the admin changes one thing, not two)."""
    seen: dict[str, tuple[str, NumberSequence]] = {}
    for entity in entities:
        for sequence in entity.numbered.values():
            first = seen.setdefault(sequence.name, (entity.name, sequence))
            if first[1] != sequence:
                raise PluginError(f"sequence {sequence.name!r} is declared differently by {first[0]!r} and {entity.name!r}")


def refuse_sent(entity: Entity, data: dict[str, Any], prefix: tuple[Any, ...] = ()) -> None:
    """A caller may not send a numbered field (422 naming it): the kernel assigns it."""
    for column_name, sequence in entity.numbered.items():
        if column_name in data:
            raise ValidationError.at([*prefix, column_name], f"read-only: numbered from the sequence {sequence.name!r}")


def effective(conn: sa.Connection, declared: NumberSequence) -> NumberSequence:
    """The sequence as an admin set it, else as declared."""
    row = conn.execute(sa.select(SETTINGS).where(SETTINGS.c.name == declared.name)).first()
    if row is None:
        return declared
    return replace(declared, prefix=row.prefix, padding=row.padding, reset=row.reset, time_zone=row.time_zone)


def _upsert(conn: sa.Connection, table: sa.Table = COUNTERS) -> Any:
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


def take(conn: sa.Connection, sequence: NumberSequence, now: datetime, count: int) -> int:
    """Take ``count`` consecutive numbers of ``sequence`` in ``now``'s period; returns the first.

    The counter row stays locked until ``conn``'s transaction ends: another taker waits,
    and a rollback gives the numbers back.
    """
    period = sequence.period(now)
    statement = (
        _upsert(conn)
        .values(name=sequence.name, period=period, next_value=1 + count, last_value=count)
        .on_conflict_do_update(
            index_elements=[COUNTERS.c.name, COUNTERS.c.period],
            set_={"next_value": COUNTERS.c.next_value + count, "last_value": COUNTERS.c.next_value + count - 1},
        )
        .returning(COUNTERS.c.next_value)
    )
    return int(conn.execute(statement).scalar_one()) - count


def fill(conn: sa.Connection, entity: Entity, rows: list[dict[str, Any]], now: datetime) -> None:
    """Give each of ``rows`` (in order) its numbers, for every numbered field of ``entity``."""
    if not rows:
        return
    for column_name, declared in entity.numbered.items():
        sequence = effective(conn, declared)
        first = take(conn, sequence, now, len(rows))
        settled = effective(conn, declared)  # what an admin's change, committed while we waited, says
        if settled.period(now) != sequence.period(now):  # the numbers came from the wrong period's counter
            from .site import WriteClash  # (kernel.site imports this module)

            raise WriteClash()
        sequence = settled
        for offset, values in enumerate(rows):
            values[column_name] = sequence.render(now, first + offset)


def declared(site: Site) -> dict[str, tuple[NumberSequence, list[str]]]:
    """Sequences the enabled entities declare: name → (declaration, entity names)."""
    found: dict[str, tuple[NumberSequence, list[str]]] = {}
    for entity in site.view.entities.values():
        for sequence in entity.numbered.values():
            found.setdefault(sequence.name, (sequence, []))[1].append(entity.name)
    return found


def _counter(conn: sa.Connection, name: str, period: str, *, lock: bool = False) -> Any:
    query = sa.select(COUNTERS).where(COUNTERS.c.name == name, COUNTERS.c.period == period)
    if lock and conn.dialect.name == "postgresql":  # SQLite: the write transaction holds the database lock
        query = query.with_for_update()
    return conn.execute(query).first()


def _locked_counter(conn: sa.Connection, name: str, period: str) -> Any:
    """The counter row of ``name`` in ``period``, created (next 1) if missing, locked until the transaction ends."""
    conn.execute(_upsert(conn).values(name=name, period=period, next_value=1, last_value=0).on_conflict_do_nothing())
    return _counter(conn, name, period, lock=True)


def _describe(conn: sa.Connection, now: datetime, sequence: NumberSequence, entities: list[str], changed: bool) -> dict[str, Any]:
    period = sequence.period(now)
    counter = _counter(conn, sequence.name, period)
    next_value = counter.next_value if counter is not None else 1
    return {
        "name": sequence.name,
        "entities": entities,
        "prefix": sequence.prefix,
        "padding": sequence.padding,
        "reset": sequence.reset,
        "time_zone": sequence.time_zone,
        "changed": changed,
        "period": period,
        "next": next_value,
        "last_used": counter.last_value if counter is not None and counter.last_value else None,
        "next_number": sequence.render(now, next_value),
    }


def describe(site: Site) -> list[dict[str, Any]]:
    """Every declared sequence as it stands now, by name."""
    now = site.clock.now()
    with site.engine.connect() as conn:
        described = []
        for _, (sequence, entities) in sorted(declared(site).items()):
            current = effective(conn, sequence)
            described.append(_describe(conn, now, current, entities, current != sequence))
        return described


def change(site: Site, actor: Actor, name: str, body: Any) -> dict[str, Any]:
    """Apply an admin's change (``prefix``, ``padding``, ``reset``, ``time_zone``, ``next``) to one sequence.

    ``next`` is the next number of the current period; it may not go down to a number
    already handed out. Changing ``reset`` carries the count over to the new period, so
    no number repeats. One transaction stores the change and its audit entry.
    """
    found = declared(site).get(name)
    if found is None:
        raise NotFound(f"no sequence named {name!r}", [{"loc": ["path", "name"], "msg": "unknown sequence"}])
    if not isinstance(body, dict):
        raise ValidationError.at(["body"], "must be a JSON object")
    unknown = [key for key in body if key not in CHANGES]
    if unknown:
        details = [{"loc": ["body", key], "msg": "unknown field"} for key in unknown]
        raise ValidationError(f"body.{unknown[0]}: unknown field (allowed: {', '.join(CHANGES)})", details)
    if not body:
        raise ValidationError.at(["body"], "send at least one of " + ", ".join(CHANGES))
    wanted_next = body.get("next")
    if "next" in body and (not isinstance(wanted_next, int) or isinstance(wanted_next, bool) or not 1 <= wanted_next <= 10**15):
        raise ValidationError.at(["body", "next"], "must be a whole number from 1")
    declaration, entities = found
    now = site.clock.now()
    with site.write() as conn:
        before = effective(conn, declaration)
        after = replace(before, **{k: v for k, v in body.items() if k != "next"})
        wrong = problems(after)
        if wrong:
            details = [{"loc": ["body", key], "msg": reason} for key, reason in wrong.items() if key in body or key == "prefix"]
            details = details or [{"loc": ["body", key], "msg": reason} for key, reason in wrong.items()]
            raise ValidationError(f"{'.'.join(details[0]['loc'])}: {details[0]['msg']}", details)
        changes = {f"{name}.{key}": [getattr(before, key), getattr(after, key)] for key in CHANGES[:-1] if getattr(before, key) != getattr(after, key)}
        if after == declaration:  # an admin's settings are kept while they differ from the declaration
            conn.execute(sa.delete(SETTINGS).where(SETTINGS.c.name == name))
        elif after != before:
            stored = {k: getattr(after, k) for k in ("prefix", "padding", "reset", "time_zone")}
            stored.update(changed_at=now, changed_by=actor.user_id)
            conn.execute(
                _upsert(conn, SETTINGS)
                .values(name=name, **stored)
                .on_conflict_do_update(index_elements=[SETTINGS.c.name], set_=stored)
            )
        period, old_period = after.period(now), before.period(now)
        counter = _locked_counter(conn, name, period)  # a create taking a number waits for this change
        start, used = counter.next_value, counter.last_value
        if after.reset != before.reset and period != old_period:  # carry the count on: no number comes back
            carried = _counter(conn, name, old_period, lock=True)
            if carried is not None:
                start, used = max(start, carried.next_value), max(used, carried.last_value)
        if wanted_next is not None:
            if wanted_next <= used:
                raise ValidationError.at(["body", "next"], f"must be above {used}, the last number handed out")
            start = wanted_next
        if start != counter.next_value or used != counter.last_value:
            conn.execute(
                sa.update(COUNTERS)
                .where(COUNTERS.c.name == name, COUNTERS.c.period == period)
                .values(next_value=start, last_value=used)
            )
        if start != counter.next_value:
            changes[f"{name}.next"] = [counter.next_value, start]
        if changes:
            audit.write(conn, [audit.entry(actor, now, AUDIT_ENTITY, None, "update", changes)])
        return _describe(conn, now, after, entities, after != declaration)
