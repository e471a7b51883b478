"""The plugin's web pages under ``/p/customers``: my day, churn risks, and the merge pages.

Every read and write goes through ``site.records`` as the signed-in user, so
record rules apply: a rep's day holds their own tasks, a manager also sees
their team's overdue ones.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from kernel import optional_id, record_scope
from kernel.ui import check_form, display_fields, render, show, ui_of

from .fields import METHODS
from .merge_page import customer_panel, merge_page, path_id, unmerge
from .tasks import my_day, overdue_tasks

if TYPE_CHECKING:
    from kernel import Actor, Site

PAGE_SIZE = 25
MENU = [
    {"label": {"en": "My day", "zh_CN": "我的一天"}, "url": "/p/customers/my-day", "order": 10, "permission": "tasks.read", "section": "sales"},
    {"label": {"en": "Churn risks", "zh_CN": "流失预警"}, "url": "/p/customers/churn", "order": 30, "permission": "customers.read", "section": "customers"},
]


def pages() -> list[BaseRoute]:
    both = ["GET", "POST"]
    return [
        Route("/my-day", my_day_page, methods=["GET"]),
        Route("/my-day/tasks/{id}/done", task_done, methods=["POST"]),
        Route("/my-day/followups/{id}/done", followup_done, methods=["POST"]),
        Route("/churn", churn_page, methods=["GET"]),
        Route("/merge/{id}", merge_page, methods=both),
        Route("/unmerge/{id}", unmerge, methods=["POST"]),
        Route("/panel/{id}", customer_panel, methods=["GET"]),
    ]


def menu_items() -> list[dict[str, Any]]:
    return [dict(item) for item in MENU]


def page_number(request: Request, name: str = "page") -> int:
    value = optional_id(request.query_params.get(name))
    return value if value is not None and value < 10_000 else 1


def names_of(site: Site, actor: Actor, entity: str, ids: set[Any]) -> dict[int, str]:
    """``{id: name}`` of the ``entity`` records among ``ids`` that ``actor`` may see."""
    wanted = {i for i in ids if isinstance(i, int)}
    target = site.view.entity(entity)
    if not wanted or target is None:
        return {}
    table = target.table
    label = table.c.name if "name" in table.c else table.c.email
    query = sa.select(table.c.id, label).where(table.c.id.in_(wanted), site.records.visible(actor, entity))
    with site.engine.connect() as conn:
        return {row[0]: str(row[1] or f"#{row[0]}") for row in conn.execute(query)}


async def my_day_page(request: Request) -> Response:
    """Today's and overdue tasks, follow-ups planned for today and, for managers, the team's overdue tasks."""
    ui = ui_of(request)
    site, actor = ui.site, ui.actor
    now = site.clock.now()
    day = my_day(site, actor, now, tz=ui.tzinfo)
    team = None
    if record_scope(site, actor, "tasks") in ("team", "all"):
        page = page_number(request, "team_page")
        team = overdue_tasks(site, actor, now, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    rows = [*day["overdue"], *day["today"], *day["followups"], *(team.items if team else [])]
    return render(
        request,
        "customers/my_day.html",
        day=day,
        team=team,
        team_pages=max(1, math.ceil(team.total / PAGE_SIZE)) if team else 1,
        customers=names_of(site, actor, "customers", {row.get("customer_id") for row in rows}),
        users=names_of(site, actor, "users", ({row.get("assignee_id") for row in team.items} if team else set()) | {f.get("owner_id") for f in day["followups"]}),
        methods=METHODS,
        now=now,
    )


async def task_done(request: Request) -> Response:
    """Mark one of the user's tasks done (``POST`` from my day)."""
    ui = ui_of(request)
    await check_form(request)
    task_id = path_id(request)
    ui.site.records.update(ui.actor, "tasks", task_id, {"status": "done"})
    return ui.redirect(f"/p/customers/my-day?done={task_id}")


async def followup_done(request: Request) -> Response:
    """Log the follow-up planned by follow-up ID (same customer or record) and clear its plan, in one transaction."""
    ui = ui_of(request)
    form = await check_form(request)
    site, actor = ui.site, ui.actor
    planned = site.records.get(actor, "followups", path_id(request))
    values = {
        "customer_id": planned["customer_id"],
        "entity": planned["entity"],
        "record_id": planned["record_id"],
        "method": form.get("method") or planned["method"],
        "content": form.get("content") or "",
    }
    with site.write() as conn:
        site.records.create(actor, "followups", values, conn=conn)
        if site.records.writable(actor, "followups", planned["id"], conn=conn):  # a colleague's plan, read through the customer, stays theirs
            site.records.update(actor, "followups", planned["id"], {"next_at": None}, conn=conn)
    return ui.redirect(f"/p/customers/my-day?logged={planned['id']}")


async def churn_page(request: Request) -> Response:
    """Customers the churn job flagged, newest flag first, with the reason."""
    ui = ui_of(request)
    site, actor = ui.site, ui.actor
    page_no = page_number(request)
    offset = (page_no - 1) * PAGE_SIZE
    page = site.records.list(actor, "customers", filters={"churn_flag": True}, sort=["-churn_flagged_at", "id"], limit=PAGE_SIZE, offset=offset)
    level = next(f for f in display_fields(site.view, site.view.entities["customers"]) if f.name == "level")  # shown by its label
    return render(
        request,
        "customers/churn.html",
        page=page,
        page_no=page_no,
        pages=max(1, math.ceil(page.total / PAGE_SIZE)),
        owners=names_of(site, actor, "users", {row.get("owner_id") for row in page.items}),
        levels={row["id"]: show(ui, level, row.get("level")) for row in page.items},
    )

