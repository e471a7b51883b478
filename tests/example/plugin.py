"""Notes: a tiny plugin that proves the kernel works with no business module."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Mapped, mapped_column

from kernel import Action, Actor, Base, Entity, Job, RecordMixin, UTCDateTime, Vetoed, hookimpl

NAME = "notes"
LABEL = {"en": "Notes", "zh_CN": "笔记"}
DESCRIPTION = {"en": "A tiny plugin that proves the kernel works with no business module.", "zh_CN": "一个小插件，证明内核无需业务模块也能运行。"}
REQUIRES: tuple[str, ...] = ()


class Note(RecordMixin, Base):
    __tablename__ = "notes_notes"
    title: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    body: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    priority: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=3, index=True)
    status: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="open")
    due: Mapped[date | None] = mapped_column(sa.Date, nullable=True)
    owner_id: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    touched_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class NoteFields(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=200)
    body: str = ""
    priority: int = Field(3, ge=1, le=5)
    status: str = Field("open", pattern="^(open|done|archived)$")
    due: date | None = None
    owner_id: int | None = None
    touched_at: datetime | None = None


class CloseBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1)


def close_note(site: Any, conn: sa.Connection, actor: Actor, entity: Entity, record: dict[str, Any], body: CloseBody) -> dict[str, Any]:
    return site.records.update(actor, entity.name, record["id"], {"status": "done"}, conn=conn)


def archive_stale(site: Any, now: datetime) -> int:
    """Archive open notes untouched for 30 days as of ``now``."""
    table = Note.__table__
    cutoff = now - timedelta(days=30)
    with site.engine.connect() as conn:
        stale = list(conn.scalars(sa.select(table.c.id).where(table.c.status == "open", table.c.updated_at < cutoff)))
    actor = Actor.system("job")
    for note_id in stale:
        site.records.update(actor, "notes", note_id, {"status": "archived"})
    return len(stale)


@hookimpl
def register_settings_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"stale_days": {"type": "integer", "minimum": 1, "default": 30}},
        "additionalProperties": False,
    }


@hookimpl
def register_entities() -> list[Entity]:
    return [
        Entity(
            name="notes",
            label={"en": "Note", "zh_CN": "笔记"},
            label_plural={"en": "Notes", "zh_CN": "笔记"},
            model=Note,
            fields=NoteFields,
            searchable=("title", "body"),
            actions=(Action("close", {"en": "Close", "zh_CN": "关闭"}, close_note, CloseBody),),
            owner_field="owner_id",
        )
    ]


@hookimpl
def register_migrations() -> str:
    return str(Path(__file__).parent / "migrations" / "versions")


@hookimpl
def register_jobs() -> list[Job]:
    return [Job("notes.archive_stale", timedelta(days=1), archive_stale, {"en": "Archive stale notes", "zh_CN": "归档过期笔记"})]


@hookimpl
def before_create(entity: str, values: dict[str, Any]) -> None:
    if entity == "notes" and values["title"].lower() == "forbidden":
        raise Vetoed.at(["title"], "notes may not be called 'forbidden'")


@hookimpl
def after_update(conn: sa.Connection, entity: str, record: dict[str, Any], changes: dict[str, Any]) -> None:
    if entity == "notes" and record["title"] == "explode on update":
        raise RuntimeError("after_update failed on purpose")
