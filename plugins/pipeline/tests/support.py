"""Test helpers: the plugins the pipeline needs, an HTTP client acting as one user, a signed-in page client.

``customers`` is loaded by name, as the site loads installed plugins: the pipeline's tests use it only
through the site (entities, hooks, pages), never its modules' functions.
"""

from __future__ import annotations

import asyncio
import importlib
import re
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType
from typing import Any

import httpx
from starlette.testclient import TestClient

from kernel import Actor, Site
from kernel.testing import create_app

SYSTEM = Actor.system("cli")
PASSWORD = "s3cret-pass"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def required_plugins() -> tuple[ModuleType, ...]:
    """The plugin module of ``customers`` (the pipeline's ``REQUIRES``), then the pipeline's own."""
    return tuple(importlib.import_module(f"plugins.{name}.plugin") for name in ("customers", "pipeline"))


class Client:
    """A synchronous face on httpx's in-process ASGI transport sending one user's bearer token."""

    def __init__(self, app: Any, token: str):
        self.app, self.headers = app, {"Authorization": f"Bearer {token}"}

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver", headers=self.headers) as client:
                return await client.request(method, url, **kwargs)

        with ThreadPoolExecutor(1) as thread:
            return thread.submit(asyncio.run, send()).result()

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def browser_for(site: Site, people: dict[str, Actor]) -> Any:
    """``sign_in("rep")``: a signed-in TestClient for one of ``people`` and its CSRF token."""
    app = create_app(site=site)

    def sign_in(who: str, locale: str | None = None) -> tuple[TestClient, str]:
        site.records.update(SYSTEM, "users", people[who].user_id, {"password": PASSWORD})
        client = TestClient(app, follow_redirects=False)
        token = CSRF.search(client.get("/login").text).group(1)  # type: ignore[union-attr]
        answer = client.post("/login", data={"email": f"{who}@example.com", "password": PASSWORD, "next": "/", "csrf_token": token})
        assert answer.status_code == 303, answer.text
        return client, CSRF.search(client.get("/").text).group(1)  # type: ignore[union-attr]

    return sign_in
