"""The write rules of ``contacts``: a visible customer, dedupe keys, exactly one primary contact.

A customer with contacts always has exactly one primary: the first contact
becomes primary, a new primary demotes the old one, and when the primary leaves
(deleted, or moved to another customer) the oldest remaining contact takes over.
Demotions and promotions are ordinary updates through ``site.records``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from kernel import N_, ValidationError, phone_region

from .models import Contact, Customer
from .normalize import email_keys, phone_keys, store_phones
from .targets import check_target

if TYPE_CHECKING:
    from kernel import Actor, Site

CONTACTS = Contact.__table__
KEY_SOURCES = ("phone", "phones", "email", "emails")


def contact_keys(values: dict[str, Any]) -> dict[str, str | None]:
    phones = phone_keys([values.get("phone"), *(values.get("phones") or ())])
    emails = email_keys([values.get("email"), *(values.get("emails") or ())])
    return {"phone_key": phones[0] if phones else None, "email_key": emails[0] if emails else None}


def _primary_of(conn: sa.Connection, customer_id: int, *, besides: int | None = None) -> int | None:
    query = sa.select(CONTACTS.c.id).where(CONTACTS.c.customer_id == customer_id, CONTACTS.c.is_primary.is_(True))
    if besides is not None:
        query = query.where(CONTACTS.c.id != besides)
    return conn.scalar(query.limit(1))


def prepare_create(site: Site, conn: sa.Connection, actor: Actor, values: dict[str, Any]) -> None:
    check_target(site, conn, actor, values, required=True)
    store_phones(values, phone_region(site))
    if _primary_of(conn, values["customer_id"]) is None:
        values["is_primary"] = True
    values.update(contact_keys(values))


def prepare_update(site: Site, conn: sa.Connection, actor: Actor, record: dict[str, Any], changes: dict[str, Any]) -> None:
    store_phones(changes, phone_region(site))
    moving = changes.get("customer_id") not in (None, record["customer_id"])
    if moving:
        check_target(site, conn, actor, {"customer_id": changes["customer_id"]}, required=True)
        if _primary_of(conn, changes["customer_id"]) is None:
            changes["is_primary"] = True
    elif changes.get("is_primary") is False and record["is_primary"]:
        if _primary_of(conn, record["customer_id"], besides=record["id"]) is None:
            raise ValidationError.at(["is_primary"], N_("a customer needs a primary contact: make another contact primary instead"))
    if changes.get("customer_id") is None:
        changes.pop("customer_id", None)
    if any(name in changes for name in KEY_SOURCES):
        changes.update(contact_keys({**record, **changes}))


def after_write(site: Site, conn: sa.Connection, actor: Actor, record: dict[str, Any], previous: dict[str, Any] | None) -> None:
    """Demote the other primaries of a new primary; give a customer the primary left a new one."""
    if record["is_primary"]:
        others = conn.scalars(
            sa.select(CONTACTS.c.id).where(
                CONTACTS.c.customer_id == record["customer_id"], CONTACTS.c.is_primary.is_(True), CONTACTS.c.id != record["id"]
            )
        ).all()
        for other in others:
            site.records.update(actor, "contacts", other, {"is_primary": False}, conn=conn)
    if previous is not None and previous["is_primary"] and previous["customer_id"] != record["customer_id"]:
        promote_oldest(site, conn, actor, previous["customer_id"])


def promote_after_delete(site: Site, conn: sa.Connection, actor: Actor, customer_ids: list[int]) -> None:
    """:func:`promote_oldest` for the customers of deleted primary contacts that are still there (one
    query for a bulk delete that took the customers to the recycle bin too)."""
    if not customer_ids:
        return
    table = Customer.__table__
    for customer_id in sorted(set(conn.scalars(sa.select(table.c.id).where(table.c.id.in_(sorted(set(customer_ids))))))):
        promote_oldest(site, conn, actor, customer_id)


def promote_oldest(site: Site, conn: sa.Connection, actor: Actor, customer_id: int) -> None:
    """Make the oldest contact of ``customer_id`` primary, if it has contacts and no primary."""
    if _primary_of(conn, customer_id) is not None:
        return
    oldest = conn.scalar(sa.select(CONTACTS.c.id).where(CONTACTS.c.customer_id == customer_id).order_by(CONTACTS.c.id).limit(1))
    if oldest is not None:
        site.records.update(actor, "contacts", oldest, {"is_primary": True}, conn=conn)
