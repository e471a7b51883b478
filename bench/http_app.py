"""uvicorn factory for scenario 2's server under test: the kernel's app with the bench plugin.

``uvicorn bench.http_app:app --factory --workers 2``: each worker process builds
its own site, as ``crm serve --workers N`` does with ``kernel.cli:web_app`` (the
bench plugin is not an installed entry point, so it is passed here instead).
The database comes from ``CRM_BENCH_HTTP_URL``; the database must be prepared
already (``python -m bench.http`` does it).
"""

from __future__ import annotations

import os

from starlette.applications import Starlette

from kernel import Site
from kernel.settings import Settings
from kernel.web.app import create_app

from . import plugin

URL_ENV = "CRM_BENCH_HTTP_URL"
SECRET_ENV = "CRM_BENCH_HTTP_SECRET"


def app() -> Starlette:
    settings = Settings(database_url=os.environ[URL_ENV], plugins=(plugin.NAME,), secret_key=os.environ.get(SECRET_ENV))
    return create_app(site=Site(settings, extra_plugins=[plugin]))
