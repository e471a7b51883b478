"""The background tasks pages: ``/background-tasks`` (the user's tasks; an admin: everyone's) and
``/background-tasks/ID`` (one task, its progress bar polled with htmx while it runs, a cancel button).

Both read :mod:`kernel.tasks`, like the API; a reload shows the same progress, kept in the database.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ... import tasks
from ...errors import NotFound, RecordError
from ...parsing import optional_id, optional_int
from .context import ui_for
from .session import check_csrf

PER_PAGE = 25
#: How often a page showing an unfinished task asks for its progress again.
POLL = "every 2s"


def _task_id(request: Request) -> int:
    found = optional_id(request.path_params["id"])
    if found is None:
        raise NotFound(f"no task with id {request.path_params['id']}")
    return found


async def tasks_page(request: Request) -> Response:
    """``GET /background-tasks?page=N``; with ``part=items``, only the list (what htmx polls)."""
    ui = ui_for(request)
    page_number = optional_int(request.query_params.get("page"), low=1, high=1_000_000) or 1
    found = tasks.list_tasks(ui.site, ui.actor, limit=PER_PAGE, offset=(page_number - 1) * PER_PAGE)
    pages = max(1, -(-found["total"] // PER_PAGE))
    active = any(item["status"] in (tasks.QUEUED, tasks.RUNNING) for item in found["items"])
    names = "_tasks_items.html" if request.query_params.get("part") == "items" else "tasks.html"
    return ui.render(names, items=found["items"], total=found["total"], page=page_number, pages=pages, active=active, poll=POLL)


async def task_page(request: Request) -> Response:
    """``GET /background-tasks/ID``; with ``part=card``, only the task's card (what htmx polls)."""
    ui = ui_for(request)
    task = tasks.get(ui.site, ui.actor, _task_id(request))
    names = "_task_card.html" if request.query_params.get("part") == "card" else "task.html"
    return ui.render(names, task=task, poll=POLL, finished=task["status"] in tasks.FINISHED, problem=None)


async def cancel_task(request: Request) -> Response:
    """``POST /background-tasks/ID/cancel``: cancel it, then back to its page."""
    ui = ui_for(request)
    form = await request.form()
    check_csrf(request, form)
    task_id = _task_id(request)
    try:
        tasks.cancel(ui.site, ui.actor, task_id)
    except RecordError as exc:
        exc = ui.explain(exc)
        if isinstance(exc, NotFound):
            raise
        task = tasks.get(ui.site, ui.actor, task_id)
        problem = ui.gettext("This task has already finished.")
        return ui.render("task.html", status_code=exc.status, task=task, poll=POLL, finished=True, problem=problem)
    return ui.redirect(f"/background-tasks/{task_id}")
