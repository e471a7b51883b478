"""The record a follow-up or task is about: a customer, or any other entity's record."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from kernel import N_, NotFound, ValidationError

if TYPE_CHECKING:
    from kernel import Actor, Site


def check_target(site: Site, conn: sa.Connection, actor: Actor, values: dict[str, Any], *, required: bool) -> None:
    """Normalize and check ``customer_id`` / ``entity`` + ``record_id`` in ``values`` (in place).

    ``entity="customers"`` is stored as ``customer_id``. The record must exist and
    be visible to ``actor``; errors name the field.
    """
    if values.get("entity") == "customers":
        values["customer_id"], values["entity"], values["record_id"] = values.get("record_id"), None, None
    customer_id, entity, record_id = values.get("customer_id"), values.get("entity"), values.get("record_id")
    if (entity is None) != (record_id is None):
        missing = "record_id" if record_id is None else "entity"
        raise ValidationError.at([missing], N_("entity and record_id go together"))
    if customer_id is not None and entity is not None:
        raise ValidationError.at(["entity"], N_("give either customer_id or entity and record_id, not both"))
    if customer_id is None and entity is None:
        if required:
            raise ValidationError.at(["customer_id"], N_("required: the customer (or entity and record_id) this is about"))
        return
    if customer_id is not None:
        _visible_record(site, conn, actor, "customers", customer_id, "customer_id")
        return
    if site.view.entity(entity) is None:
        raise ValidationError.at(["entity"], f"unknown or disabled entity {entity!r}")
    _visible_record(site, conn, actor, entity, record_id, "record_id")


def _visible_record(site: Site, conn: sa.Connection, actor: Actor, entity: str, record_id: int, field: str) -> None:
    try:
        site.records.get(actor, entity, record_id, conn=conn)
    except NotFound:
        raise ValidationError.at([field], f"no {entity} record with id {record_id}") from None
