"""The plugin's web pages under ``/p/pools``: the pools of each kind with live counts, a pool's
records with Claim buttons and bulk assign, a pool's rules form, my holdings, a record's ownership
history and the reports.

Every read goes through ``site.records`` (or ``site.records.visible`` in SQL) as the signed-in
user, so record rules and masking apply; every change is the engine's operation the API's actions run
(:func:`.operations.claim`, :func:`.operations.assign`), so the page refuses exactly what the API
refuses, in the reader's language.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from kernel import NotFound, RecordError, allowed, optional_id
from kernel.ui import check_form, display_fields, raw_value, record_title, reference_labels, render, show, ui_of

from . import history, holdings_page, operations, release_page, report_pages, rules_page
from .access import DUE_SOON, kind_of_pool_entity, live_counts, members_of, pool_kinds, role_in

if TYPE_CHECKING:
    from kernel.ui import UI

    from .kinds import PoolKind

PAGE_SIZE = 25
MAX_SELECTED = 200
LIST_COLUMNS = 5  # fields a pool's list shows besides the record's title

MENU = [
    {"label": {"en": "My holdings", "zh_CN": "我的持有"}, "url": "/p/pools/holdings", "order": 20, "section": "pools"},
    {"label": {"en": "Pools", "zh_CN": "公共池"}, "url": "/p/pools/", "order": 21, "section": "pools"},
    {"label": {"en": "Pool reports", "zh_CN": "公共池报表"}, "url": "/p/pools/reports", "order": 22, "section": "pools"},
]
#: Every kind's pools, holdings and reports in one section, after the kinds' own (线索, 客户).
MENU_SECTIONS = [{"key": "pools", "label": {"en": "Pool management", "zh_CN": "池管理"}, "order": 30}]


def pages() -> list[BaseRoute]:
    both = ["GET", "POST"]
    return [
        Route("/", overview_page, methods=["GET"]),
        Route("/holdings", holdings_page.holdings_page, methods=["GET"]),
        Route("/reports", report_pages.reports_page, methods=["GET"]),
        Route("/reports/export", report_pages.export_page, methods=["POST"]),
        Route("/history/{entity}/{id}", history.history_page, methods=["GET"]),
        Route("/release/{entity}/{id:int}", release_page.release_page, methods=both),
        Route("/{pool_entity}/{pool_id}", pool_page, methods=["GET"]),
        Route("/{pool_entity}/{pool_id}/claim", claim, methods=["POST"]),
        Route("/{pool_entity}/{pool_id}/assign", assign, methods=["POST"]),
        Route("/{pool_entity}/{pool_id}/rules", rules_page.rules_page, methods=both),
    ]


def menu_items() -> list[dict[str, Any]]:
    return [dict(item) for item in MENU]


# -- the pools of each kind ----------------------------------------------------------------


async def overview_page(request: Request) -> Response:
    """Every pool the user is a member or an admin of (site admins: all), by kind (``?entity=E``: only the pools of
    E's kind), with the records waiting in it, held from it and due soon."""
    ui = ui_of(request)
    site, actor = ui.site, ui.actor
    now = site.clock.now()
    sections = []
    kinds = pool_kinds(site, actor)
    only = [k for k in kinds if k.entity == request.query_params.get("entity")]  # ``?entity=``: one kind's pools
    for kind in only or kinds:
        pools = [p for p in site.records.list(actor, kind.pool_entity, sort=["name", "id"], limit=200).items if role_in(actor, p)]
        counts = live_counts(site, actor, kind, [p["id"] for p in pools], now)
        pool_entity = site.view.entity(kind.pool_entity)
        entity = site.view.entity(kind.entity)
        sections.append({
            "kind": kind,
            "title": ui.label(pool_entity.label, kind.pool_entity),
            "records_label": ui.label(entity.label_plural, kind.entity),
            "pools": [{"pool": p, "counts": counts[p["id"]], "role": role_in(actor, p)} for p in pools],
            "can_create": allowed(site, actor, kind.pool_entity, "create"),
            "can_update": allowed(site, actor, kind.pool_entity, "update"),
        })
    heading = sections[0]["title"] if only and sections else None
    return render(request, "pools/overview.html", sections=sections, due_days=DUE_SOON.days, heading=heading,
                  holdings="/p/pools/holdings" + (f"?entity={only[0].entity}" if only else ""))


# -- one pool's records --------------------------------------------------------------------


def pool_of(ui: UI, request: Request) -> tuple[PoolKind, dict[str, Any]]:
    """The kind and the pool of the path, for its members and admins (404 for others: they see nothing of a pool)."""
    kind = kind_of_pool_entity(ui.site, request.path_params["pool_entity"])
    pool_id = optional_id(request.path_params["pool_id"])
    if kind is None or pool_id is None:
        raise NotFound("no such pool")
    pool = ui.site.records.get(ui.actor, kind.pool_entity, pool_id)
    if role_in(ui.actor, pool) is None:
        raise NotFound(f"no {kind.pool_entity} record with id {pool_id}")
    return kind, pool


def list_fields(ui: UI, kind: PoolKind) -> list[Any]:
    """The pooled entity's title and a few short fields: the pool's masked ones first, so the page shows them masked."""
    entity = ui.view.entity(kind.entity)
    fields = [f for f in display_fields(ui.view, entity) if not f.custom and f.widget not in ("textarea", "json", "password")]
    skip = {kind.pool_field, kind.owner(entity), "custom"}
    title = entity.title_field or "name"
    first = [f for f in fields if f.name == title]
    rest = [f for f in fields if f.name not in skip and f.name != title]
    rest.sort(key=lambda f: (f.name not in kind.maskable, f.name != (kind.level_field or "")))
    return first + rest[:LIST_COLUMNS]


async def pool_page(request: Request) -> Response:
    """The records waiting in the pool (or, for its admins, held from it), sortable and paged, with
    Claim on each row for members and bulk assign for the pool's admins."""
    ui = ui_of(request)
    kind, pool = pool_of(ui, request)
    return show_pool(ui, kind, pool, request.query_params)


def show_pool(ui: UI, kind: PoolKind, pool: dict[str, Any], params: Any, *, error: str = "", status_code: int = 200) -> Response:
    """The pool page for ``params`` (the query, or the form that came back refused with ``error``)."""
    site, actor, request = ui.site, ui.actor, ui.request
    entity = site.view.entity(kind.entity)
    role = role_in(actor, pool)
    held = params.get("show") == "held" and role == "admin"
    fields = list_fields(ui, kind)
    sortable = {f.name for f in fields}
    sort = params.get("sort") or ""
    if not isinstance(sort, str) or sort.lstrip("-") not in sortable:
        sort = ""
    found = optional_id(params.get("page"))
    page_no = found if found is not None and found < 10_000 else 1
    owner_field = kind.owner(entity)
    filters: dict[str, Any] = {kind.pool_field: pool["id"]}
    if held:
        filters[f"{owner_field}__gte"] = 1
    else:
        filters[owner_field] = None
    page = site.records.list(actor, kind.entity, filters=filters, sort=[sort, "id"] if sort else ["id"], limit=PAGE_SIZE, offset=(page_no - 1) * PAGE_SIZE)
    owner_fields = [f for f in display_fields(site.view, entity) if f.name == owner_field]
    refs = reference_labels(ui, fields + owner_fields, page.items)
    now = site.clock.now()
    counts = live_counts(site, actor, kind, [pool["id"]], now)[pool["id"]]
    query = {k: v for k, v in {"show": "held" if held else "", "sort": sort}.items() if v}
    return ui.render(
        "pools/pool.html",
        status_code=status_code,
        kind=kind,
        pool=pool,
        pool_label=ui.label(site.view.entity(kind.pool_entity).label, kind.pool_entity),
        entity=entity,
        entity_label=ui.label(entity.label_plural, kind.entity),
        role=role,
        held=held,
        fields=fields,
        owner_field=owner_fields[0] if owner_fields else None,
        page=page,
        page_no=page_no,
        pages=max(1, math.ceil(page.total / PAGE_SIZE)),
        sort=sort,
        query=query,
        urlencode=urlencode,
        refs=refs,
        **showing(ui, entity),
        counts=counts,
        members=members_of(site, pool) if role == "admin" else [],
        claimed=optional_id(request.query_params.get("claimed")),
        assigned=optional_id(request.query_params.get("assigned")),
        error=error,
    )


def showing(ui: UI, entity: Any) -> dict[str, Any]:
    """The template helpers that show a record's values as the generic pages do (masked ones as Hidden)."""
    return {
        "show": lambda f, value, refs=None: show(ui, f, value, refs),
        "raw_value": raw_value,
        "record_title": lambda record: record_title(entity, record),
    }


def back_to(request: Request, form: Any, **extra: Any) -> str:
    """The pool page the form came from (its sort, page and tab kept), with ``extra`` in its query."""
    base = f"/p/pools/{request.path_params['pool_entity']}/{request.path_params['pool_id']}"
    kept = {k: form.get(k) for k in ("sort", "page", "show") if isinstance(form.get(k), str) and form.get(k)}
    query = urlencode({**kept, **{k: v for k, v in extra.items() if v is not None}})
    return base + (f"?{query}" if query else "")


def refused(ui: UI, kind: PoolKind, pool: dict[str, Any], form: Any, error: str, status_code: int) -> Response:
    return show_pool(ui, kind, pool, form, error=error, status_code=status_code)


async def claim(request: Request) -> Response:
    """Claim one record of the pool (``POST`` with ``id``): the ``claim`` action, refused with its reason."""
    ui = ui_of(request)
    form = await check_form(request)
    kind, pool = pool_of(ui, request)
    record_id = optional_id(form.get("id"))
    if record_id is None:
        return refused(ui, kind, pool, form, ui.gettext("Choose a record to claim."), 422)
    try:
        operations.claim(ui.site, ui.actor, kind.entity, record_id)
    except RecordError as exc:
        return refused(ui, kind, pool, form, refusal_text(ui, exc, kind.entity), exc.status)
    return ui.redirect(back_to(request, form, claimed=record_id))


async def assign(request: Request) -> Response:
    """Give the ticked records to one member (pool admins): all in one transaction, or none with the refusal."""
    ui = ui_of(request)
    form = await check_form(request)
    kind, pool = pool_of(ui, request)
    ids = sorted({i for v in form.getlist("ids") if (i := optional_id(v)) is not None})[:MAX_SELECTED]
    owner_id = optional_id(form.get("owner_id"))
    if not ids:
        return refused(ui, kind, pool, form, ui.gettext("Tick the records to assign first."), 422)
    if owner_id is None:
        return refused(ui, kind, pool, form, ui.gettext("Choose the member to assign them to."), 422)
    reason = str(form.get("reason") or "").strip()[:500]
    try:
        operations.assign(ui.site, ui.actor, kind.entity, ids, owner_id, reason=reason or None)
    except RecordError as exc:
        return refused(ui, kind, pool, form, refusal_text(ui, exc, kind.entity), exc.status)
    return ui.redirect(back_to(request, form, assigned=len(ids)))


def refusal_text(ui: UI, exc: RecordError, entity: str) -> str:
    """A refusal in the reader's language: the message, and the first detail naming a field when there is one."""
    explained = ui.explain(exc, entity)
    details = [d.get("msg") for d in explained.details or [] if d.get("msg")]
    text = explained.message
    if details and details[0] not in text:
        text = f"{text} {details[0]}"
    return str(text)[:300]
