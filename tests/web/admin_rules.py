"""A plugin for the admin tests: a record rule on notes, described in words."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from kernel import hookimpl

NAME = "admin_rules"
REQUIRES = ("notes",)


@hookimpl
def record_rules(actor: Any, entity: str, table: sa.Table) -> sa.ColumnElement[bool] | None:
    """Everyone may also see notes whose title starts with "Shared"."""
    if entity != "notes":
        return None
    return table.c.title.like("Shared%")


@hookimpl
def register_record_rule_descriptions() -> list[dict[str, Any]]:
    return [{"entity": "notes", "label": {"en": "Everyone also sees notes whose title starts with Shared", "zh_CN": "所有人都能看到标题以 Shared 开头的笔记"}}]
