"""The application factory: ``create_app(settings)`` returns a Starlette app.

There is no module-level app or plugin manager; every call builds its own site.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ..settings import Settings
from ..site import Site


async def health(request: Request) -> JSONResponse:
    site: Site = request.app.state.site
    view = site.view
    return JSONResponse({"status": "ok", "registry_version": view.version, "plugins": list(view.enabled)})


def create_app(settings: Settings | None = None, *, site: Site | None = None, run_jobs: bool = False) -> Starlette:
    """Build the web app for ``settings`` (or an existing ``site``).

    With ``run_jobs``, due jobs are run in-process on an APScheduler interval
    while the app is up (how ``crm serve`` runs them on SQLite).
    """
    if site is None:
        site = Site(settings or Settings())

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        scheduler = None
        if run_jobs:
            from apscheduler.schedulers.background import BackgroundScheduler

            from ..jobs import schedule

            scheduler = BackgroundScheduler(timezone="UTC")
            schedule(scheduler, site)
            scheduler.start()
        try:
            yield {}
        finally:
            if scheduler is not None:
                scheduler.shutdown(wait=False)

    app = Starlette(routes=[Route("/healthz", health)], lifespan=lifespan)
    app.state.site = site
    return app
