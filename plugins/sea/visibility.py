"""Who sees a sea: its members and admins (by user or team); site admins all. Non-members see
nothing of it (its customers' rows are the pools engine's record rule)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

if TYPE_CHECKING:
    from kernel import Actor


def _has(column: sa.Column[object], value: int) -> sa.ColumnElement[bool]:
    """The JSON id list in ``column`` holds ``value`` (the list's text with brackets and commas as spaces)."""
    text = sa.cast(column, sa.Text)
    for mark in ("[", "]", ","):
        text = sa.func.replace(text, mark, " ")
    return (sa.literal(" ") + text + sa.literal(" ")).like(f"% {int(value)} %")


def seas_filter(actor: Actor, table: sa.Table) -> sa.ColumnElement[bool] | None:
    if actor.user_id is None or actor.role == "admin":
        return None
    found = [_has(table.c.member_ids, actor.user_id), _has(table.c.admin_ids, actor.user_id)]
    if actor.team_id is not None:
        found += [_has(table.c.member_team_ids, actor.team_id), _has(table.c.admin_team_ids, actor.team_id)]
    return sa.or_(*found)
