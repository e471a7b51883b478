"""A pooled record's ownership history: who got it, from whom, through which pool, why and by which
rule, and when — on its own page (``/p/pools/history/ENTITY/ID``, "why do I own this?") and as
entries of the record page's Activity tab (``record_activity``).

Both read the kernel's ownership events of a record the reader may see (``site.records.get``
first: a record one may not see is a 404, its history too).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import Response

from kernel import NotFound, optional_id, ownership_events
from kernel.ui import ui_of

from .kinds import kinds

if TYPE_CHECKING:
    from kernel import Actor, Site

ACTIONS = {
    "claim": {"en": "Claimed", "zh_CN": "领取"},
    "assign": {"en": "Assigned", "zh_CN": "分配"},
    "release": {"en": "Released", "zh_CN": "释放"},
    "transfer": {"en": "Transferred", "zh_CN": "转移"},
    "return": {"en": "Returned to the pool", "zh_CN": "退回池中"},
}
RULES = {
    "followup_days": {"en": "Follow-up deadline", "zh_CN": "跟进期限"},
    "close_days": {"en": "Close deadline", "zh_CN": "成交期限"},
    "round_robin": {"en": "Round-robin", "zh_CN": "轮流分配"},
    "least_loaded": {"en": "Least loaded", "zh_CN": "最少持有"},
    "rules": {"en": "Assignment rules", "zh_CN": "分配规则"},
    "manual": {"en": "Manual", "zh_CN": "手动"},
}


def events_for(site: Site, actor: Actor, entity: str, record_id: int) -> list[dict[str, Any]]:
    """The record's ownership events, newest first, with the names of the people and pools in them."""
    site.records.get(actor, entity, record_id)  # NotFound when the actor may not see it
    with site.engine.connect() as conn:
        events = list(reversed(ownership_events(conn, entity, record_id)))
        users = site.view.entity("users").table
        people = {e[k] for e in events for k in ("from_owner", "to_owner", "actor_id") if e.get(k) is not None}
        names = {}
        if people:
            label = sa.func.coalesce(users.c.name, users.c.email)
            names = {row[0]: str(row[1]) for row in conn.execute(sa.select(users.c.id, label).where(users.c.id.in_(people)))}
        pools: dict[tuple[str, int], str] = {}
        for pool_entity in {e["via_entity"] for e in events if e.get("via_entity")}:
            target = site.view.entity(pool_entity)
            if target is None or "name" not in target.table.c:
                continue
            ids = {e["via_id"] for e in events if e.get("via_entity") == pool_entity}
            for row in conn.execute(sa.select(target.table.c.id, target.table.c.name).where(target.table.c.id.in_(ids))):
                pools[(pool_entity, row[0])] = str(row[1])
    for event in events:
        event["from_name"] = names.get(event.get("from_owner"))
        event["to_name"] = names.get(event.get("to_owner"))
        event["by_name"] = names.get(event.get("actor_id")) or event.get("actor")
        event["pool_name"] = pools.get((event.get("via_entity"), event.get("via_id"))) if event.get("via_entity") else None
    return events


def describe(event: dict[str, Any], locale: str, gettext: Any) -> dict[str, str]:
    """The event in words: ``{"what", "rule"}`` in ``locale``."""
    action = event.get("action") or "assign"
    what = ACTIONS.get(action, {"en": action, "zh_CN": action})
    rule = event.get("rule")
    rule_text = RULES.get(rule, {"en": rule, "zh_CN": rule}) if rule else None
    return {
        "what": what.get(locale) or what["en"],
        "rule": (rule_text.get(locale) or rule_text["en"]) if rule_text else "",
    }


async def history_page(request: Request) -> Response:
    ui = ui_of(request)
    entity_name = request.path_params["entity"]
    record_id = optional_id(request.path_params["id"])
    kind = kinds(ui.site).get(entity_name)
    if kind is None or record_id is None:
        raise NotFound("no such pooled record")
    events = events_for(ui.site, ui.actor, entity_name, record_id)
    record = ui.site.records.get(ui.actor, entity_name, record_id)
    entity = ui.view.entity(entity_name)
    for event in events:
        event.update(describe(event, ui.locale, ui.gettext))
    title = record.get(entity.title_field or "name") or f"#{record_id}"
    return ui.render(
        "pools/history.html",
        kind=kind,
        record=record,
        title=title,
        entity_label=ui.label(entity.label, entity_name),
        events=events,
        mine=record.get(kind.owner(entity)) == ui.actor.user_id,
    )


def activity_entries(site: Site, actor: Actor, entity: str, record_id: int, limit: int) -> list[dict[str, Any]] | None:
    """The record's changes of hands through pools, for its Activity tab (``record_activity``)."""
    if entity not in kinds(site):
        return None
    try:
        events = events_for(site, actor, entity, record_id)
    except NotFound:
        return []
    entries = []
    for event in events:
        if not event.get("via_entity"):
            continue  # the kernel's own assign already shows in the record's history
        people = f"{event.get('from_name') or '—'} → {event.get('to_name') or '—'}"
        title = " · ".join(filter(None, [event.get("pool_name"), people, event.get("reason"), event.get("by_name")]))
        entries.append({
            "at": event["at"],
            "kind": event.get("action") or "assign",
            "title": title,
            "entity": entity,
            "record_id": record_id,
            "data": {"reason": event.get("reason"), "rule": event.get("rule"), "by": event.get("by_name"), "pool_id": event.get("via_id")},
        })
        if len(entries) >= limit:
            break
    return entries
