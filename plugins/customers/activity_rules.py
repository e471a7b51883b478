"""The write rules of ``followups`` and ``tasks``.

A follow-up moves its record's ``last_followed_at`` forward: a customer's here,
any other entity's through the ``customers_followed_up`` hook its plugin implements.
A task with a due time gets a reminder time (``reminder_lead_minutes`` before it)
unless one is given; changing the reminder time re-arms the reminder.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from .models import Customer
from .references import check_ids
from .settings import settings_of
from .targets import check_target

if TYPE_CHECKING:
    from kernel import Actor, Site

CUSTOMERS = Customer.__table__


def prepare_followup(site: Site, conn: sa.Connection, actor: Actor, values: dict[str, Any]) -> None:
    check_target(site, conn, actor, values, required=True)
    if values.get("followed_at") is None:
        values["followed_at"] = site.clock.now()
    if values.get("owner_id") is None:
        values["owner_id"] = actor.user_id
    check_ids(site, conn, "users", "owner_id", [values["owner_id"]])


def prepare_followup_update(site: Site, conn: sa.Connection, actor: Actor, record: dict[str, Any], changes: dict[str, Any]) -> None:
    if any(changes.get(name) is not None for name in ("customer_id", "entity", "record_id")):
        target = {name: changes.get(name, record[name]) for name in ("customer_id", "entity", "record_id")}
        check_target(site, conn, actor, target, required=True)
        changes.update(target)
    if "followed_at" in changes and changes["followed_at"] is None:
        changes.pop("followed_at")
    check_ids(site, conn, "users", "owner_id", [changes.get("owner_id")])


def record_followed_up(site: Site, conn: sa.Connection, actor: Actor, followup: dict[str, Any]) -> None:
    """Move the followed record's ``last_followed_at`` to the follow-up's time, if that is later."""
    at = followup["followed_at"]
    if followup["customer_id"] is not None:
        current = conn.scalar(sa.select(CUSTOMERS.c.last_followed_at).where(CUSTOMERS.c.id == followup["customer_id"]))
        if current is None or current < at:
            site.records.update(actor, "customers", followup["customer_id"], {"last_followed_at": at}, conn=conn)
        return
    site.view.pm.hook.customers_followed_up(
        site=site, conn=conn, actor=actor, entity=followup["entity"], record_id=followup["record_id"], at=at
    )


def prepare_task(site: Site, conn: sa.Connection, actor: Actor, values: dict[str, Any]) -> None:
    check_target(site, conn, actor, values, required=False)
    if values.get("assignee_id") is None:
        values["assignee_id"] = actor.user_id
    check_ids(site, conn, "users", "assignee_id", [values["assignee_id"]])
    if values.get("remind_at") is None and values.get("due_at") is not None:
        values["remind_at"] = values["due_at"] - _lead(site)
    if values.get("status") == "done" and values.get("done_at") is None:
        values["done_at"] = site.clock.now()


def prepare_task_update(site: Site, conn: sa.Connection, actor: Actor, record: dict[str, Any], changes: dict[str, Any]) -> None:
    if any(changes.get(name) is not None for name in ("customer_id", "entity", "record_id")):
        target = {name: changes.get(name, record[name]) for name in ("customer_id", "entity", "record_id")}
        check_target(site, conn, actor, target, required=False)
        changes.update(target)
    check_ids(site, conn, "users", "assignee_id", [changes.get("assignee_id")])
    due_moved = changes.get("due_at") is not None and changes["due_at"] != record["due_at"]
    default_reminder = record["due_at"] is not None and record["remind_at"] == record["due_at"] - _lead(site)
    if due_moved and "remind_at" not in changes and (record["remind_at"] is None or default_reminder):
        changes["remind_at"] = changes["due_at"] - _lead(site)
    if "remind_at" in changes and changes["remind_at"] != record["remind_at"] and "reminded_at" not in changes:
        changes["reminded_at"] = None
    status = changes.get("status")
    if status == "done" and record["status"] != "done" and changes.get("done_at") is None:
        changes["done_at"] = site.clock.now()
    elif status in ("open", "cancelled") and record["status"] == "done":
        changes["done_at"] = None


def _lead(site: Site) -> timedelta:
    return timedelta(minutes=settings_of(site).reminder_lead_minutes)
