"""The write rules of ``customers``: credit codes, owners, dedupe keys, sharing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from kernel import Forbidden, N_, ValidationError, phone_region

from .models import Share
from .normalize import company_key, email_keys, phone_keys, store_phones
from .references import check_ids

if TYPE_CHECKING:
    from kernel import Actor, Site

SHARES = Share.__table__
CONTROLLED = ("team_id", "shared_user_ids", "shared_team_ids")
KEY_SOURCES = ("name", "kind", "phone", "phones", "email", "emails")
#: Customer fields whose change needs none of ``prepare_update``'s work: the owner (checked by the kernel's owner change).
UNCHECKED = frozenset({"owner_id"})
#: ``(entity, field, several)`` of the user and team ids a write may give, in the order they are checked.
_CHECKED_IDS = (("users", "owner_id", False), ("users", "shared_user_ids", True), ("teams", "team_id", False), ("teams", "shared_team_ids", True))
#: The entities whose updates this plugin's hooks prepare (``before_update``).
PREPARED = ("customers", "contacts", "followups", "tasks")


def prepares_update(site: Site, entity: str, fields: frozenset[str]) -> bool:
    """Whether ``before_update`` has work in a batch of ``entity`` changing ``fields`` (``kernel.concerned_with``):
    not in a batch of customers that only changes owners (a sea's return, a bulk assign)."""
    if entity == "customers":
        return not fields <= UNCHECKED
    return entity in PREPARED


def follows_update(site: Site, entity: str, fields: frozenset[str]) -> bool:
    """Whether ``after_update`` has work in a batch of ``entity`` changing ``fields`` (shares, contacts, follow-up times)."""
    if entity == "customers":
        return bool(fields & {"shared_user_ids", "shared_team_ids"})
    return entity == "contacts" or (entity == "followups" and "followed_at" in fields)


def prepares_create(site: Site, entity: str, fields: frozenset[str]) -> bool:
    """Whether ``before_create`` has work in a batch of new ``entity`` records (``kernel.concerned_with``)."""
    return entity in PREPARED


def follows_create(site: Site, entity: str, fields: frozenset[str]) -> bool:
    """Whether ``after_create`` has work in a batch of new ``entity`` records giving ``fields``: new customers
    only when shared with someone (an import's customers are usually not: their rows are then not read back)."""
    if entity == "customers":
        return bool(fields & {"shared_user_ids", "shared_team_ids"})
    return entity in ("contacts", "followups")


def dedupe_keys(values: dict[str, Any], *, stored_phones: bool = False) -> dict[str, str | None]:
    """The normalized keys stored with a customer (the name only counts for a company). ``stored_phones``:
    the phones are as :func:`.normalize.store_phones` just left them, each E.164 and so its own key
    (not read again)."""
    numbers = [values.get("phone"), *(values.get("phones") or ())]
    phones = list(dict.fromkeys(number for number in numbers if number)) if stored_phones else phone_keys(numbers)
    emails = email_keys([values.get("email"), *(values.get("emails") or ())])
    return {
        "name_key": company_key(values.get("name")) if values.get("kind", "company") == "company" else None,
        "phone_key": phones[0] if phones else None,
        "email_key": emails[0] if emails else None,
    }


def prepare_create(site: Site, conn: sa.Connection, actor: Actor, values: dict[str, Any]) -> None:
    if values.get("owner_id") is None:
        values["owner_id"] = actor.user_id
    if values.get("team_id") is None:
        values["team_id"] = actor.team_id
    store_phones(values, phone_region(site))
    _check(site, conn, values, values)
    values.update(dedupe_keys(values, stored_phones=True))


def prepare_update(site: Site, conn: sa.Connection, actor: Actor, record: dict[str, Any], changes: dict[str, Any]) -> None:
    store_phones(changes, phone_region(site))
    merged = {**record, **changes}
    _check(site, conn, merged, changes)
    _check_sharing(site, conn, actor, record, changes)
    if any(name in changes for name in KEY_SOURCES):
        changes.update(dedupe_keys(merged))


def _check(site: Site, conn: sa.Connection, merged: dict[str, Any], changed: dict[str, Any]) -> None:
    if merged.get("credit_code") and merged.get("kind") == "individual":
        raise ValidationError.at(["credit_code"], N_("only a company has a unified social credit code"))
    for name in ("shared_user_ids", "shared_team_ids", "tags"):
        if changed.get(name):  # an empty list (a new customer's usual one) has nothing to make distinct
            changed[name] = list(dict.fromkeys(changed[name]))
    for entity, name, many in _CHECKED_IDS:  # only the ids given are looked up: an import's rows usually give none
        given = changed.get(name)
        if many and given:
            check_ids(site, conn, entity, name, given)
        elif not many and given is not None:
            check_ids(site, conn, entity, name, [given])


def _check_sharing(site: Site, conn: sa.Connection, actor: Actor, record: dict[str, Any], changes: dict[str, Any]) -> None:
    """A customer's team and who it is shared with are its owner's call (or a manager's over it, or an
    admin's), never a sharee's: sharing gives the use of a customer, not a say over it."""
    changing = [name for name in CONTROLLED if name in changes and _value(changes[name]) != _value(record.get(name))]
    if changing and not site.records.controls(actor, "customers", record, conn=conn):
        raise Forbidden(
            f"{changing[0]}: only the customer's owner or their manager may change its team or who it is shared with",
            [{"loc": [changing[0]], "msg": "only the owner or their manager may change this"}],
        )


def _value(value: Any) -> Any:
    return set(value) if isinstance(value, list) else value


def sync_shares(conn: sa.Connection, record: dict[str, Any], *, new: bool = False) -> None:
    """Make ``customers_shares`` match the customer's ``shared_user_ids`` and ``shared_team_ids``
    (a ``new`` customer has none yet: nothing to delete, and no statement when it is shared with no one)."""
    if not new:
        conn.execute(sa.delete(SHARES).where(SHARES.c.customer_id == record["id"]))
    rows = [{"customer_id": record["id"], "kind": "user", "target_id": i} for i in record.get("shared_user_ids") or ()]
    rows += [{"customer_id": record["id"], "kind": "team", "target_id": i} for i in record.get("shared_team_ids") or ()]
    if rows:
        conn.execute(sa.insert(SHARES), rows)


def shared_with(actor: Actor) -> sa.Select[Any]:
    """Ids of the customers shared with ``actor`` or the actor's team."""
    targets = [sa.and_(SHARES.c.kind == "user", SHARES.c.target_id == actor.user_id)]
    if actor.team_id is not None:
        targets.append(sa.and_(SHARES.c.kind == "team", SHARES.c.target_id == actor.team_id))
    return sa.select(SHARES.c.customer_id).where(sa.or_(*targets))


def descriptions() -> list[dict[str, Any]]:
    """The record rules of :mod:`.plugin` (``record_rules``) in words, for the admin pages."""
    return [
        {
            "entity": "customers",
            "label": {
                "en": "Users also see the customers shared with them or their team (“Shared with users”, “Shared with teams”)",
                "zh_CN": "用户还能看到共享给本人或本团队的客户（“共享给用户”“共享给团队”）",
            },
            "combine": "or",
        },
    ]
