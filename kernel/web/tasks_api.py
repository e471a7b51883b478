"""Background tasks over HTTP (see :mod:`kernel.tasks`), mounted under ``/api/v1``:

* ``GET /api/v1/background-tasks?status=&kind=&limit=&offset=`` — the caller's tasks (an admin:
  everyone's), newest first, ``{"items", "total", "limit", "offset"}``;
* ``GET /api/v1/background-tasks/{id}`` — one task with its progress
  (``{"done", "total", "percent", "message"}``), result and error: what a page polls;
* ``POST /api/v1/background-tasks/{id}/cancel`` — cancel it (a queued task at once, a running one
  at its handler's next progress call); 409 when it already finished.

The path is not ``/tasks``: that name belongs to an entity's generic routes.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from .. import tasks
from ..errors import NotFound, ValidationError
from ..parsing import optional_id
from ..records import DEFAULT_LIMIT, MAX_LIMIT
from ..site import Site
from .auth import authenticate
from .payload import parse_count, query_values

PATH = "/background-tasks"


async def list_tasks(request: Request) -> JSONResponse:
    site: Site = request.app.state.site
    actor = authenticate(site, request)
    values = query_values(request)
    limit = parse_count(values, "limit", DEFAULT_LIMIT, low=1, high=MAX_LIMIT)
    offset = parse_count(values, "offset", 0, low=0)
    status = values.pop("status", None) or None
    kind = values.pop("kind", None) or None
    if values:
        name = sorted(values)[0]
        raise ValidationError.at(["query", name], "unknown parameter; known: status, kind, limit, offset")
    return JSONResponse(tasks.list_tasks(site, actor, status=status, kind=kind, limit=limit, offset=offset))


def _task_id(request: Request) -> int:
    found = optional_id(request.path_params["id"])
    if found is None:
        raise NotFound(f"no task with id {request.path_params['id']}")
    return found


async def get_task(request: Request) -> JSONResponse:
    site: Site = request.app.state.site
    actor = authenticate(site, request)
    return JSONResponse(tasks.get(site, actor, _task_id(request)))


async def cancel_task(request: Request) -> JSONResponse:
    site: Site = request.app.state.site
    actor = authenticate(site, request)
    return JSONResponse(tasks.cancel(site, actor, _task_id(request)))


def task_routes() -> list[BaseRoute]:
    """Routes mounted under ``/api/v1``, before the generic entity routes."""
    return [
        Route(PATH, list_tasks, methods=["GET"], name="tasks"),
        Route(PATH + "/{id}", get_task, methods=["GET"], name="task"),
        Route(PATH + "/{id}/cancel", cancel_task, methods=["POST"], name="task_cancel"),
    ]
