"""Who sees a lead pool: its members and admins (by user or team); site admins all. Which leads of a
pool a member sees (the unowned ones; admins all of the pool's) is the pools engine's record rule."""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

if TYPE_CHECKING:
    from kernel import Actor


def _lists(column: sa.Column[object], value: int) -> sa.ColumnElement[bool]:
    """The JSON list of ids in ``column`` holds ``value``: its text, brackets and commas made spaces, has `` value ``."""
    text = sa.cast(column, sa.Text)
    for mark in ("[", "]", ","):
        text = sa.func.replace(text, mark, " ")
    return (sa.literal(" ") + text + sa.literal(" ")).like(f"% {int(value)} %")


def pools_filter(actor: Actor, table: sa.Table) -> sa.ColumnElement[bool] | None:
    if actor.user_id is None or actor.role == "admin":
        return None
    found = [_lists(table.c.member_ids, actor.user_id), _lists(table.c.admin_ids, actor.user_id)]
    if actor.team_id is not None:
        found += [_lists(table.c.member_team_ids, actor.team_id), _lists(table.c.admin_team_ids, actor.team_id)]
    return sa.or_(*found)
