"""The merge dialog (``/p/customers/merge/ID``), the undo button and the detail page's duplicates panel.

The dialog compares the customer in the path (the survivor) with another one
field by field, says what moves, asks for a confirmation and runs the
``merge`` action through ``site.records.act``; the survivor's page then offers
to undo it (the ``unmerge`` action) for as long as it can be undone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import Response

from kernel import allowed, Forbidden, N_, NotFound, optional_id, RecordError
from kernel.ui import check_form, display_fields, raw_value, reference_labels, render, show, ui_of

from .contact_rules import CONTACTS
from .models import Customer, Followup, Merge, Task
from .purchases import purchase_summary

if TYPE_CHECKING:
    from kernel import Site
    from kernel.ui import UI

CUSTOMERS = Customer.__table__
MERGES = Merge.__table__
MOVING = {"contacts": CONTACTS, "followups": Followup.__table__, "tasks": Task.__table__}
#: Kept by the merge itself, not picked: the later follow-up time wins, churn is judged again.
NOT_PICKED = ("last_followed_at", "churn_flag", "churn_reason", "churn_flagged_at")
SEARCH_LIMIT = 20


def path_id(request: Request) -> int:
    text = request.path_params["id"]
    found = optional_id(text)
    if found is None:
        raise NotFound(f"no record {text!r}")
    return found


async def merge_page(request: Request) -> Response:
    """``GET``: pick the other customer, or compare the two; ``POST``: merge them."""
    ui = ui_of(request)
    site, actor = ui.site, ui.actor
    if not allowed(site, actor, "customers", "merge"):
        raise Forbidden(N_("merging customers needs the customers.merge permission"))
    survivor = site.records.get(actor, "customers", path_id(request))
    errors: list[str] = []
    picks: dict[str, str] = {}
    other_id = optional_id(request.query_params.get("other_id"))
    if request.method == "POST":
        form = await check_form(request)
        other_id = optional_id(form.get("other_id"))
        picks = {key.removeprefix("pick."): str(value) for key, value in form.multi_items() if key.startswith("pick.")}
        if other_id is None:
            errors.append(ui.gettext("Pick the customer to merge into this one."))
        elif form.get("confirm") != "yes":
            errors.append(ui.gettext("Tick the confirmation to merge."))
        else:
            body = {"other_id": other_id, "fields": {name: side for name, side in picks.items() if side == "other"}}
            try:
                result = site.records.act(actor, "customers", survivor["id"], "merge", body)
            except RecordError as exc:
                exc = ui.explain(exc, "customers")
                errors.extend([detail.get("msg") or exc.message for detail in exc.details] or [exc.message])
            else:
                return ui.redirect(f"/r/customers/{survivor['id']}?merged={result['merge_id']}")
    other = _visible_other(site, ui, other_id, errors)
    context: dict[str, Any] = {"survivor": survivor, "other": other, "errors": errors}
    if other is not None and other["id"] != survivor["id"]:
        context["rows"], context["same"] = comparison(ui, survivor, other, picks)
        context["moves"] = moves(site, other["id"])
    else:
        q = request.query_params.get("q", "").strip()[:100]
        context["q"] = q
        context["duplicates"] = possible_duplicates(site, ui, survivor)
        context["found"] = _search(site, ui, q, survivor["id"]) if q else []
    return render(request, "customers/merge.html", status_code=422 if errors else 200, **context)


def _visible_other(site: Site, ui: UI, other_id: int | None, errors: list[str]) -> dict[str, Any] | None:
    if other_id is None:
        return None
    try:
        return site.records.get(ui.actor, "customers", other_id)
    except NotFound:
        errors.append(ui.gettext("Customer #%(id)s does not exist, or you may not see it.", id=other_id))
        return None


def comparison(ui: UI, survivor: dict[str, Any], other: dict[str, Any], picks: dict[str, str]) -> tuple[list[dict[str, Any]], int]:
    """One row per field whose values differ (custom fields together as one), and how many are the same."""
    entity = ui.view.entity("customers")
    assert entity is not None  # this plugin's own
    fields = sorted((f for f in display_fields(ui.view, entity) if f.name not in NOT_PICKED), key=lambda f: f.name != "name")
    refs = reference_labels(ui, fields, [survivor, other])
    rows, same = [], 0
    for f in (f for f in fields if not f.custom):
        ours, theirs = raw_value(f, survivor), raw_value(f, other)
        if _empty(ours) and _empty(theirs) or ours == theirs:
            same += 1
            continue
        rows.append(_row(f.name, f.label_text(ui.locale, ui.gettext), show(ui, f, ours, refs), show(ui, f, theirs, refs), ours, theirs, picks))
    custom = [f for f in fields if f.custom]
    if custom and (survivor.get("custom") or {}) != (other.get("custom") or {}):
        def listed(record: dict[str, Any]) -> str:
            shown = [(f.label_text(ui.locale, ui.gettext), show(ui, f, raw_value(f, record), refs)) for f in custom]
            return "; ".join(f"{label}: {value}" for label, value in shown if value)

        ours_custom = {k: v for k, v in (survivor.get("custom") or {}).items() if not _empty(v)}
        theirs_custom = {k: v for k, v in (other.get("custom") or {}).items() if not _empty(v)}
        rows.append(_row("custom", ui.gettext("Custom fields"), listed(survivor), listed(other), ours_custom, theirs_custom, picks))
    return rows, same


def _row(name: str, label: str, ours_shown: str, theirs_shown: str, ours: Any, theirs: Any, picks: dict[str, str]) -> dict[str, Any]:
    default = "other" if _empty(ours) and not _empty(theirs) else "this"
    return {"name": name, "label": label, "this": ours_shown, "other": theirs_shown, "pick": picks.get(name, default)}


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def moves(site: Site, other_id: int) -> list[dict[str, Any]]:
    """What moves to the survivor: this plugin's related rows, and other plugins' (``customers_related_counts``)."""
    found: dict[str, int] = {}
    with site.engine.connect() as conn:
        for name, table in MOVING.items():
            found[name] = int(conn.scalar(sa.select(sa.func.count()).select_from(table).where(table.c.customer_id == other_id)) or 0)
        for answer in site.view.pm.hook.customers_related_counts(site=site, conn=conn, customer_id=other_id):
            for name, count in (answer or {}).items():
                found[name] = found.get(name, 0) + int(count)
    return [{"entity": name, "label": _plural(site, name), "count": count} for name, count in found.items()]


def _plural(site: Site, name: str) -> Any:
    entity = site.view.entity(name)
    return entity.label_plural if entity is not None else name


def possible_duplicates(site: Site, ui: UI, customer: dict[str, Any]) -> list[dict[str, Any]]:
    """Customers that look like ``customer`` (same company name, phone or email) which the user may see."""
    with site.engine.connect() as conn:
        ids = site.records.find_duplicates(ui.actor, "customers", [customer], conn=conn)[0].ids("customers")
        if not ids:
            return []
        query = sa.select(CUSTOMERS.c.id, CUSTOMERS.c.name, CUSTOMERS.c.phone, CUSTOMERS.c.email).where(CUSTOMERS.c.id.in_(ids))
        return [dict(row._mapping) for row in conn.execute(query.order_by(CUSTOMERS.c.id))]


def _search(site: Site, ui: UI, q: str, own_id: int) -> list[dict[str, Any]]:
    items = site.records.list(ui.actor, "customers", q=q, sort="name", limit=SEARCH_LIMIT + 1).items
    return [item for item in items if item["id"] != own_id][:SEARCH_LIMIT]


def undoable_merges(site: Site, customer_id: int) -> list[dict[str, Any]]:
    """Merges into ``customer_id`` not undone yet, newest first: ``{"id", "name", "merged_at"}``."""
    with site.engine.connect() as conn:
        rows = conn.execute(
            sa.select(MERGES.c.id, MERGES.c.merged, MERGES.c.merged_at)
            .where(MERGES.c.survivor_id == customer_id, MERGES.c.undone_at.is_(None))
            .order_by(MERGES.c.id.desc())
            .limit(20)
        )
        return [{"id": row.id, "name": row.merged.get("name"), "merged_at": row.merged_at} for row in rows]


async def unmerge(request: Request) -> Response:
    """``POST`` ``merge_id``: undo that merge into the customer in the path."""
    ui = ui_of(request)
    form = await check_form(request)
    survivor_id = path_id(request)
    merge_id = optional_id(form.get("merge_id"))
    if merge_id is None:
        raise NotFound("no such merge")
    result = ui.site.records.act(ui.actor, "customers", survivor_id, "unmerge", {"merge_id": merge_id})
    return ui.redirect(f"/r/customers/{survivor_id}?unmerged={result['restored']['id']}")


async def customer_panel(request: Request) -> Response:
    """The detail page's panel (loaded by htmx): lifetime purchases (when a plugin reports them),
    possible duplicates and merges that can be undone."""
    ui = ui_of(request)
    site, actor = ui.site, ui.actor
    customer = site.records.get(actor, "customers", path_id(request))
    can_merge = allowed(site, actor, "customers", "merge")
    can_unmerge = allowed(site, actor, "customers", "unmerge")
    return render(
        request,
        "customers/_panel.html",
        customer=customer,
        duplicates=[] if request.query_params.get("duplicates") == "0" else possible_duplicates(site, ui, customer),
        merges=undoable_merges(site, customer["id"]) if can_unmerge else [],
        can_merge=can_merge,
        purchases=purchase_summary(site, actor, customer["id"]),
    )
