"""The masking test plugin, shared by tests/test_masking.py and tests/web/test_masking_web.py.

It owns ``masktest_people`` (phone, score, a custom ``wechat``) and their ``masktest_contacts``
(children through ``person_id``); it masks a person's phone, score and wechat, and the phones of
their contacts, from everyone but the owner while the person is ``locked``.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Mapped, mapped_column

from kernel import Actor, Base, Entity, Mask, RecordMixin
from kernel.fielddefs import add_field
from kernel.testing import plugin_module

SYSTEM = Actor.system("cli")
PHONE = "13800138000"


class Person(RecordMixin, Base):
    __tablename__ = "masktest_people"
    name: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    phone: Mapped[str | None] = mapped_column(sa.String(40), nullable=True)
    score: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    region: Mapped[str | None] = mapped_column(sa.String(20), nullable=True)
    locked: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    owner_id: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)


class Contact(RecordMixin, Base):
    __tablename__ = "masktest_contacts"
    person_id: Mapped[int] = mapped_column(sa.BigInteger, sa.ForeignKey("masktest_people.id"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    phone: Mapped[str | None] = mapped_column(sa.String(40), nullable=True)


class PersonFields(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    phone: str | None = None
    score: int | None = None
    region: str | None = None
    locked: bool = False
    owner_id: int | None = None


class ContactFields(BaseModel):
    model_config = ConfigDict(extra="forbid")
    person_id: int
    name: str = Field(min_length=1, max_length=100)
    phone: str | None = None


def entities() -> list[Entity]:
    return [
        Entity(
            name="masktest_people", label={"en": "Person", "zh_CN": "人"}, label_plural={"en": "People", "zh_CN": "人"},
            model=Person, fields=PersonFields, owner_field="owner_id", searchable=("name", "phone"),
        ),
        Entity(
            name="masktest_contacts", label={"en": "Contact", "zh_CN": "联系人"}, label_plural={"en": "Contacts", "zh_CN": "联系人"},
            model=Contact, fields=ContactFields, parent=("person_id", "masktest_people"), searchable=("name", "phone"),
        ),
    ]


def locked_for(actor: Actor, table: sa.Table) -> Any:
    """Masked: a locked person, for anyone but its owner."""
    return sa.and_(table.c.locked.is_(True), table.c.owner_id.is_distinct_from(actor.user_id))


def masks() -> list[Mask]:
    return [
        Mask("masktest_people", ("phone", "score", "wechat"), when=locked_for, reason="locked person"),
        Mask("masktest_contacts", ("phone",), when=locked_for, through="person_id", reason="contact of a locked person"),
    ]


def find_duplicates(entity: str, rows: list[dict[str, Any]], conn: sa.Connection) -> list[list[tuple[str, int]]] | None:
    if entity != "masktest_people":
        return None
    table = Person.__table__
    phones = {row.get("phone") for row in rows if row.get("phone")}
    stored = conn.execute(sa.select(table.c.id, table.c.phone).where(table.c.phone.in_(phones))).all() if phones else []
    return [[("masktest_people", r.id) for r in stored if r.phone == row.get("phone") and r.id != row.get("id")] for row in rows]


PLUGIN = dict(register_entities=entities, register_masks=masks, find_duplicates=find_duplicates)


def masked_site(make_site: Any, *others: Any) -> Any:
    """A site with the plugin (and ``others``), its tables, the custom ``wechat`` field and a ``member`` role."""
    site = make_site(plugin_module("masktest", **PLUGIN), *others, default_locale="en")
    Base.metadata.create_all(site.engine, tables=[Person.__table__, Contact.__table__])
    add_field(site, SYSTEM, "masktest_people", "wechat", {"type": "string"}, label={"en": "WeChat", "zh_CN": "微信"})
    site.records.create(SYSTEM, "roles", {"name": "member", "permissions": [
        "masktest_people.read", "masktest_people.create", "masktest_people.update", "masktest_contacts.read", "masktest_contacts.create",
    ]})
    return site
