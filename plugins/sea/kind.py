"""The sea's pool kind: customers wait in seas (``customers.sea_id``) until a rep claims them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from kernel import Mask
from plugins.pools import PoolKind, masks

from .models import SEAS, Sea

if TYPE_CHECKING:
    from kernel import Actor, Site

#: Customers' contact details a sea may mask for its members until one claims the customer.
CUSTOMER_FIELDS = ("phone", "phones", "email", "emails")
#: Contacts' details masked with their customer (through ``contacts.customer_id``).
CONTACT_FIELDS = ("phone", "phones", "email", "emails", "wechat")

KIND = PoolKind(
    entity="customers", pool_entity="seas", pool_field="sea_id", owner_field="owner_id",
    activity_field="last_followed_at", level_field="level", maskable=CUSTOMER_FIELDS,
)


def sea_masks() -> list[Mask]:
    """The pools engine's masks on customers, and the same condition for their contacts: a contact's
    phone, email and WeChat are hidden while its customer's phone is (an unclaimed customer of a sea
    that masks ``phone``)."""
    found = masks(KIND, Sea)
    phone = next(m for m in found if m.fields == ("phone",))
    found.append(Mask("contacts", CONTACT_FIELDS, when=phone.when, through="customer_id", reason="unclaimed sea customer"))
    return found


def closed_ids(site: Site, conn: sa.Connection, entity: str, ids: list[int]) -> list[int] | None:
    """``pools_closed_ids`` for customers: whatever ``pipeline``/``orders`` answer to ``sea_customer_closed_ids``."""
    if entity != "customers" or not ids:
        return None
    found: set[int] = set()
    for answer in site.view.pm.hook.sea_customer_closed_ids(site=site, conn=conn, ids=list(ids)):
        found.update(answer or ())
    return sorted(found & set(ids))


def seas_of(site: Site, actor: Actor) -> list[dict[str, Any]]:
    """The seas ``actor`` sees (members, admins; site admins all), by name."""
    return site.records.list(actor, "seas", sort=["name", "id"], limit=200).items


__all__ = ["KIND", "SEAS", "closed_ids", "sea_masks", "seas_of"]
