"""``/admin/audit``: search the audit log, page through it, download it as CSV.

The query is :func:`kernel.audit.search`, the same one ``GET /api/v1/audit``
runs. Dates are picked in the viewer's time zone; a download is itself
recorded in the audit log (entity ``audit``, action ``export``).
"""

from __future__ import annotations

import csv
import io
import math
from datetime import datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from ... import audit
from ...errors import ValidationError
from ...exporting import guard_formula
from ...parsing import optional_id, optional_int, parse_date
from ...records import CHANNELS
from ...fielddescriptions import N_
from .audit_words import SYSTEM_ENTITIES, Wording, action_name, channel_names, entity_name, people_choices
from .context import UI, ui_for

PAGE_SIZE = 25
EXPORT_LIMIT = 100_000
SUMMARY_CHANGES = 3
ACTIONS = ("create", "update", "delete", "login", "login_failed", "logout", "token_create", "token_revoke", "enable", "disable", "purge", "reset", "export")
FILTERS = ("entity", "record_id", "actor_id", "actor", "action", "channel", "from", "to")


def wanted_search(ui: UI) -> tuple[audit.Search, dict[str, str], dict[str, str]]:
    """The search the query string asks for, the values to show back, and an error per wrong filter."""
    params = ui.request.query_params
    shown = {name: params.get(name, "").strip()[:200] for name in FILTERS}
    errors: dict[str, str] = {}
    record_id = None
    if shown["record_id"]:
        record_id = optional_id(shown["record_id"])
        if record_id is None:
            errors["record_id"] = ui.gettext("Give a record number, e.g. 42.")
    actor_id = None
    if shown["actor_id"]:
        actor_id = optional_id(shown["actor_id"])
        if actor_id is None:
            errors["actor_id"] = ui.gettext("Pick a person from the list.")
    bounds = {}
    for name in ("from", "to"):
        if shown[name]:
            try:
                day = parse_date(shown[name], [name])
            except ValidationError:
                errors[name] = ui.gettext("Give a date like 2026-03-01.")
                continue
            # the viewer's midnight: "to" includes the whole day
            bounds[name] = datetime.combine(day + timedelta(days=1 if name == "to" else 0), time(), tzinfo=ui.tzinfo)
    search = audit.Search(
        actor_id=actor_id,
        actor=shown["actor"] or None,
        entity=shown["entity"] or None,
        record_id=record_id,
        action=shown["action"] or None,
        channel=shown["channel"] or None,
        since=bounds.get("from"),
        until=bounds.get("to"),
    )
    return search, shown, errors


async def audit_page(request: Request) -> Response:
    ui = ui_for(request)
    ui.require_admin()
    search, shown, errors = wanted_search(ui)
    page_no = request.query_params.get("page", "1")
    page_no = optional_int(page_no, low=1, high=999_999) or 1
    items: list[dict[str, Any]] = []
    total = 0
    if not errors:
        with ui.site.engine.connect() as conn:
            items, total = audit.search(conn, search, limit=PAGE_SIZE, offset=(page_no - 1) * PAGE_SIZE)
    wording = Wording(ui, items)
    query = {k: v for k, v in shown.items() if v}
    kinds = sorted({*ui.view.entities, *SYSTEM_ENTITIES})
    return ui.render(
        "admin/audit.html",
        status_code=422 if errors else 200,
        entries=[wording.entry(item) for item in items],
        total=total,
        page_no=page_no,
        pages=max(1, math.ceil(total / PAGE_SIZE)),
        shown=shown,
        query=query,
        errors=errors,
        people=people_choices(ui),
        entities=sorted(((k, entity_name(ui, k)) for k in kinds), key=lambda pair: pair[1].lower()),
        actions=[(a, action_name(ui, "", a)) for a in ACTIONS],
        channels=CHANNELS,
        channel_names=channel_names(ui),
        summary_size=SUMMARY_CHANGES,
    )


def changes_text(changes: list[Any]) -> str:
    """Changes on one line for the CSV: ``Label: old → new; ...``."""
    return "; ".join(f"{c.label}: {c.old} → {c.new}" if c.old else f"{c.label}: {c.new}" for c in changes)


async def audit_csv(request: Request) -> Response:
    """``/admin/audit.csv``: the current search as CSV (times in the viewer's zone), recorded as an export."""
    ui = ui_for(request)
    actor = ui.require_admin()
    search, shown, errors = wanted_search(ui)
    if errors:
        return ui.redirect("/admin/audit?" + urlencode({k: v for k, v in shown.items() if v}))
    now = ui.site.clock.now()
    with ui.site.write() as conn:
        rows, total = audit.search(conn, search, limit=EXPORT_LIMIT)
        filters = {k: v for k, v in shown.items() if v}
        audit.write(conn, [audit.entry(actor, now, "audit", None, "export", {"filters": filters, "rows": len(rows), "matched": total})])
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    words = [ui.gettext(w) for w in (N_("Time"), N_("Who"), N_("Kind of record"), N_("Record"), N_("Action"), N_("Changes"))]
    writer.writerow(["id", "at", "actor", "actor_id", "channel", "entity", "record_id", "action", "changes", "ip", *words])
    wording = Wording(ui, rows)
    for row in rows:
        at = row["at"].astimezone(ui.tzinfo).isoformat()
        said = wording.entry(row)
        cells = [row["id"], at, row["actor"], row["actor_id"] or "", row["channel"], row["entity"], row["record_id"] or "",
                 row["action"], audit.dumps(row["changes"]), row["ip"] or "",
                 ui.fmt.datetime(row["at"]), said.who, said.kind, said.record, said.what, changes_text(said.changes)]
        writer.writerow([guard_formula(c) if isinstance(c, str) else c for c in cells])
    name = f"audit-{now:%Y%m%d-%H%M%S}.csv"
    return Response(
        "\ufeff" + buffer.getvalue(),  # a BOM, so spreadsheet programs read the Chinese text as UTF-8
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
