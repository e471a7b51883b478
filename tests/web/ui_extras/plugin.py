"""A test plugin for the web UI: a menu item, a template override and dashboard widgets over ``notes``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from kernel import Widget, hookimpl
from kernel.web.ui import check_form, render, ui_of

NAME = "ui_extras"
REQUIRES = ("notes",)


def open_notes(site: Any, actor: Any, now: Any) -> dict[str, Any]:
    return {"value": site.records.list(actor, "notes", filters={"status": "open"}, limit=1).total}


def notes_by_priority(site: Any, actor: Any, now: Any) -> dict[str, Any]:
    counts = [site.records.list(actor, "notes", filters={"priority": p}, limit=1).total for p in range(1, 6)]
    return {"type": "bar", "labels": ["P1", "P2", "P3", "P4", "P5"], "series": [{"name": {"en": "Notes", "zh_CN": "笔记"}, "values": counts}]}


def latest_notes(site: Any, actor: Any, now: Any) -> dict[str, Any]:
    items = site.records.list(actor, "notes", sort="-id", limit=5).items
    return {"columns": [{"key": "title", "label": {"en": "Title", "zh_CN": "标题"}}], "rows": [{"title": n["title"]} for n in items]}


@hookimpl
def register_menu_items() -> list[dict[str, Any]]:
    return [
        {"label": {"en": "Notes board", "zh_CN": "笔记看板"}, "url": "/r/notes/kanban", "order": 50, "permission": "notes.read"},
        {"label": {"en": "Secret admin page", "zh_CN": "秘密"}, "url": "/admin/secret", "section": "admin", "permission": "nobody.has_this"},
    ]


@hookimpl
def register_template_dirs() -> list[str]:
    return [str(Path(__file__).parent / "templates")]


@hookimpl
def register_dashboard_widgets() -> list[Widget]:
    return [
        Widget("ui_extras.open_notes", {"en": "Open notes", "zh_CN": "进行中的笔记"}, "number", open_notes, size="small"),
        Widget("ui_extras.by_priority", {"en": "Notes by priority", "zh_CN": "按优先级"}, "chart", notes_by_priority),
        Widget("ui_extras.latest", {"en": "Latest notes", "zh_CN": "最新笔记"}, "table", latest_notes, roles=("admin",)),
    ]


DEMO_NOTES = ({"title": "回访华东客户", "priority": 1}, {"title": "Prepare the quarterly review", "priority": 2, "status": "done"})


@hookimpl
def after_demo_seeded(site: Any, actor: Any) -> None:
    titles = {n["title"] for n in site.records.list(actor, "notes", limit=500).items}
    missing = [n for n in DEMO_NOTES if n["title"] not in titles]
    if missing:
        site.records.create_many(actor, "notes", missing)


async def hello(request: Request) -> Response:
    ui = ui_of(request)
    if request.method == "POST":
        form = await check_form(request)
        ui.site.records.create(ui.actor, "notes", {"title": form.get("title") or ""})
        return RedirectResponse("/p/ui_extras/hello", status_code=303)
    count = ui.site.records.list(ui.actor, "notes", limit=1).total
    return render(request, "ui_extras/hello.html", count=count)


@hookimpl
def register_pages() -> list[BaseRoute]:
    return [Route("/hello", hello, methods=["GET", "POST"])]
