"""The application factory: ``create_app(settings)`` returns a Starlette app.

There is no module-level app or plugin manager; every call builds its own site.

Under ``/api/v1``: ``auth/``, ``meta/``, ``plugins/NAME/`` (each enabled plugin's
``register_routes``), ``openapi.json``, ``background-tasks``, and last the generic entity routes,
whose ``{entity}`` segment matches any other name. Under ``/public``: what anonymous
visitors reach (:mod:`kernel.web.public`), outside every catch-all. Every failure answers the
error envelope of :mod:`kernel.web.errors`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Mount, Route, Router

from ..db import pool_size
from ..settings import Settings
from ..site import Site
from .api import record_routes
from .trash_api import trash_routes
from .auth import auth_routes
from .errors import EXCEPTION_HANDLERS, InternalErrors
from .limits import BodyLimits
from .meta import meta_routes
from .offload import LoopThreads, Offload
from .outbox_api import outbox_routes
from .openapi import Documents, docs_routes, openapi_json
from .plugin_mount import PluginMount
from .proxies import TrustedProxies
from .public import PublicSpace
from .public_forms import public_form_routes
from .security_api import security_routes
from .tasks_api import task_routes
from .states_api import state_routes, transition_routes


async def health(request: Request) -> JSONResponse:
    site: Site = request.app.state.site
    view = site.view
    return JSONResponse({"status": "ok", "registry_version": view.version, "plugins": list(view.enabled)})


def api_routes(site: Site) -> list[BaseRoute]:
    """Everything under ``/api/v1``; the entity routes come last."""
    return [
        Mount("/auth", routes=auth_routes(), name="auth"),
        *state_routes(),  # /meta/entities/E/states: before /meta
        Mount("/meta", routes=meta_routes(), name="meta"),
        Mount("/plugins/{plugin}", app=PluginMount(site), name="plugins"),
        Route("/openapi.json", openapi_json, methods=["GET"], name="openapi"),
        *outbox_routes(),  # /outbox/dead: likewise
        *security_routes(),  # /audit and /E/{id}/access: before the generic entity routes
        *task_routes(),  # /background-tasks
        *transition_routes(),
        *trash_routes(),
        *record_routes(),
    ]


def create_app(settings: Settings | None = None, *, site: Site | None = None, run_jobs: bool = False) -> Starlette:
    """Build the web app for ``settings`` (or an existing ``site``).

    With ``run_jobs``, due jobs and queued background tasks are run in-process on
    APScheduler intervals while the app is up (how ``crm serve`` runs them on SQLite).
    """
    if site is None:
        site = Site(settings or Settings())
    threads = LoopThreads(pool_size(site.engine))  # one request per pooled connection at a time

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        scheduler = None
        if run_jobs:
            from apscheduler.schedulers.background import BackgroundScheduler

            from .. import tasks
            from ..jobs import schedule

            scheduler = BackgroundScheduler(timezone="UTC")
            schedule(scheduler, site)
            tasks.schedule(scheduler, site)
            scheduler.start()
        try:
            yield {}
        finally:
            if scheduler is not None:
                scheduler.shutdown(wait=False)
            threads.close()

    public = PublicSpace(site, Router(public_form_routes()))
    routes = [
        Route("/healthz", health),
        Mount("/api/v1", routes=api_routes(site), name="api"),
        Mount("/public", app=public, name="public"),  # anonymous visitors: kernel.web.public
        *docs_routes(),
    ]
    middleware = [
        Middleware(Offload, threads=threads),
        Middleware(TrustedProxies, trusted=site.file_settings.trusted_proxies),
        Middleware(InternalErrors),
        Middleware(BodyLimits, site=site),
    ]
    app = Starlette(routes=routes, middleware=middleware, exception_handlers=EXCEPTION_HANDLERS, lifespan=lifespan)
    app.state.site = site
    app.state.openapi = Documents()
    # -- the browser UI (kernel.web.ui): pages at /, /login, /r/ENTITY…, /admin/…, /static/…
    from .ui import mount_ui

    mount_ui(app)
    return app
