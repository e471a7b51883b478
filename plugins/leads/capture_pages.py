"""Capture's admin page (``/p/leads/capture``) and JSON API (``/api/v1/plugins/leads/capture/...``):
the public forms on leads with the pool each sends its leads to, their link and embed snippet, and
the newest captured leads with the look-alikes found when they came.

Managing needs the permission ``leads.capture_forms`` (admins, sales managers and marketers); the
forms themselves (fields, consent, limit per IP) are built in *Admin → Public forms*.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from kernel import NotFound, ValidationError, allowed, jsonable, optional_id, read_json_object
from kernel.ui import check_form, ui_of

from . import capture

if TYPE_CHECKING:
    from kernel import Actor, Site

PERMISSION = ("leads", "capture_forms")
WORDS = {
    "title": {"en": "Lead capture", "zh_CN": "线索采集"},
    "intro": {"en": "Visitors of these public forms become leads in the pool you choose, with the source Web form; "
                    "a lead that looks like a known lead or customer is flagged, never dropped. "
                    "Build a form (its fields, consent and limit per visitor) in Admin → Public forms, on the entity Leads.",
              "zh_CN": "访客填写以下公开表单后成为所选线索池中的线索，来源为官网表单；与已有线索或客户相似的会被标记，不会被丢弃。"
                       "表单（字段、同意条款、每位访客的提交上限）在“管理 → 公开表单”中基于“线索”实体创建。"},
    "forms": {"en": "Forms", "zh_CN": "表单"},
    "form": {"en": "Form", "zh_CN": "表单"},
    "pool": {"en": "Lead pool", "zh_CN": "线索池"},
    "routing": {"en": "By the routing rules", "zh_CN": "按分配规则"},
    "link": {"en": "Link", "zh_CN": "链接"},
    "embed": {"en": "Embed code", "zh_CN": "嵌入代码"},
    "captured": {"en": "Captured", "zh_CN": "已采集"},
    "flagged_count": {"en": "Possible duplicates", "zh_CN": "疑似重复"},
    "inactive": {"en": "inactive", "zh_CN": "已停用"},
    "save": {"en": "Save", "zh_CN": "保存"},
    "no_forms": {"en": "No public form on leads yet.", "zh_CN": "还没有基于线索的公开表单。"},
    "new_form": {"en": "Build one in Admin → Public forms", "zh_CN": "前往“管理 → 公开表单”创建"},
    "recent": {"en": "Newest captured leads", "zh_CN": "最新采集的线索"},
    "lead": {"en": "Lead", "zh_CN": "线索"},
    "channel": {"en": "Channel", "zh_CN": "渠道"},
    "when": {"en": "When", "zh_CN": "时间"},
    "looks_like": {"en": "Looks like", "zh_CN": "疑似重复"},
    "nothing": {"en": "No lead captured yet.", "zh_CN": "还没有采集到线索。"},
    "flagged": {"en": "When it came in, this lead looked like:", "zh_CN": "此线索进入时疑似重复："},
    "saved": {"en": "Saved.", "zh_CN": "已保存。"},
    "mail": {"en": "Leads by email: pipe each message to crm leads capture-mail - (see the plugin's documentation).",
             "zh_CN": "邮件线索：将每封邮件通过管道交给 crm leads capture-mail -（见插件文档）。"},
}


def may_manage(site: Site, actor: Actor) -> bool:
    return allowed(site, actor, *PERMISSION)


def _manager(site: Site, actor: Actor) -> None:
    if not may_manage(site, actor):
        raise NotFound("no such page", [{"loc": ["path"], "msg": "you may not manage lead capture"}])


def form_links(base: str, slug: str, title: str) -> dict[str, str]:
    """The form's address and an ``<iframe>`` to paste into another site (listed in ``public_origins``)."""
    url = f"{base.rstrip('/')}/public/forms/{slug}"
    embed = f'<iframe src="{escape(url)}?embed=1" title="{escape(title)}" style="width:100%;max-width:480px;height:640px;border:0" loading="lazy"></iframe>'
    return {"url": url, "embed": embed}


def _described(site: Site, base: str, locale: str) -> list[dict[str, Any]]:
    found = []
    for form in capture.lead_forms(site):
        title = (form["title"] or {}).get(locale) or (form["title"] or {}).get("en") or form["slug"]
        found.append({**form, "title_text": title, **form_links(base, form["slug"], title)})
    return found


def _pools(site: Site, actor: Actor) -> list[tuple[int, str]]:
    page = site.records.list(actor.elevated("leads.capture"), capture.POOLS, limit=500, sort="name")
    return [(row["id"], row["name"]) for row in page.items]


# -- JSON API -------------------------------------------------------------------------------------


def routes() -> list[BaseRoute]:
    return [
        Route("/capture/forms", forms_api, methods=["GET"]),
        Route("/capture/forms/{slug}", form_api, methods=["PUT"]),
        Route("/captures", captures_api, methods=["GET"]),
    ]


async def forms_api(request: Request) -> Response:
    """``GET``: the public forms on leads: ``slug``, ``title``, ``active``, ``pool_id``, ``url``, ``embed``, ``captured``, ``flagged``."""
    site, actor = request.app.state.site, request.state.actor
    _manager(site, actor)
    forms = _described(site, str(request.base_url), site.settings.default_locale)
    return JSONResponse(jsonable({"forms": [{k: v for k, v in f.items() if k not in ("title_text", "consent")} for f in forms]}))


async def form_api(request: Request) -> Response:
    """``PUT {"pool_id": N | null}``: the pool the form's leads go to."""
    site, actor = request.app.state.site, request.state.actor
    _manager(site, actor)
    body = await read_json_object(request)
    if set(body) - {"pool_id"} or "pool_id" not in body:
        raise ValidationError.at(["body", "pool_id"], 'is required: {"pool_id": N or null}')
    return JSONResponse(capture.bind_form(site, actor, request.path_params["slug"], body["pool_id"]))


def capture_flags(site: Site, actor: Actor, lead_id: int) -> dict[str, Any] | None:
    """How lead ``lead_id`` came in (``None``: not captured) with its look-alikes as ``actor`` may know them."""
    row = capture.capture_of(site, lead_id)
    return _readable_duplicates(site, actor, [row])[0] if row is not None else None


def _captures(site: Site, actor: Actor, flagged_only: bool) -> list[dict[str, Any]]:
    """Captures with their look-alikes as ``{"entity", "id"}`` (only those ``actor`` may read, the rest counted)."""
    return _readable_duplicates(site, actor, capture.recent_captures(site, actor, flagged_only=flagged_only))


def _readable_duplicates(site: Site, actor: Actor, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    pairs = [(entity, id_) for row in rows for entity, id_ in row["duplicate_ids"]]
    readable: set[tuple[str, int]] = set()
    for entity in {e for e, _ in pairs}:
        known = site.view.entity(entity)
        if known is None or not allowed(site, actor, entity, "read"):
            continue
        ids = [i for e, i in pairs if e == entity]
        with site.engine.connect() as conn:
            seen = conn.execute(sa.select(known.table.c.id).where(known.table.c.id.in_(ids), site.records.visible(actor, entity)))
            readable |= {(entity, row[0]) for row in seen}
    for row in rows:
        listed = [(e, i) for e, i in row["duplicate_ids"]]
        row["duplicates"] = [{"entity": e, "id": i} for e, i in listed if (e, i) in readable]
        row["hidden_duplicates"] = row["hidden_duplicates"] + len(listed) - len(row["duplicates"])
        row.pop("duplicate_ids")
    return rows


async def captures_api(request: Request) -> Response:
    """``GET ?flagged=1``: the newest captured leads the caller may see (50), with their look-alikes."""
    site, actor = request.app.state.site, request.state.actor
    if not allowed(site, actor, "leads", "read"):
        raise NotFound("no such page", [{"loc": ["path"], "msg": "you may not read leads"}])
    flagged = request.query_params.get("flagged") in ("1", "true")
    return JSONResponse(jsonable({"captures": _captures(site, actor, flagged)}))


# -- page -----------------------------------------------------------------------------------------


def pages() -> list[BaseRoute]:
    return [Route("/capture", capture_page, methods=["GET"]), Route("/capture/{slug}", bind_page, methods=["POST"])]


async def capture_page(request: Request) -> Response:
    ui = ui_of(request)
    _manager(ui.site, ui.actor)
    entities = {name: ui.label(ui.view.entity(name).label, name) for name in ("leads", "customers", "contacts") if ui.view.entity(name)}
    captures = _captures(ui.site, ui.actor, False)
    for row in captures:
        for item in row["duplicates"]:
            item["entity_label"] = entities.get(item["entity"], item["entity"])
    return ui.render(
        "leads/capture.html", words=WORDS, forms=_described(ui.site, str(request.base_url), ui.locale), pools=_pools(ui.site, ui.actor),
        captures=captures, channels=capture.CHANNEL_LABELS, saved=bool(request.query_params.get("saved")),
    )


async def bind_page(request: Request) -> Response:
    ui = ui_of(request)
    _manager(ui.site, ui.actor)
    form = await check_form(request)
    pool_id = optional_id(form.get("pool_id") or None)
    capture.bind_form(ui.site, ui.actor, request.path_params["slug"], pool_id)
    return ui.redirect("/p/leads/capture?saved=1")
