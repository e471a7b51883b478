"""Clients a test drives a site's app with, signed in as one of its users (re-exported by :mod:`kernel.testing`).

* :func:`api_clients`: ``api_clients(site)(actor)`` → an :class:`ApiClient` sending ``actor``'s bearer token.
* :func:`page_clients`: ``page_clients(site)(actor)`` → a :class:`PageSession`, a Starlette
  ``TestClient`` signed in through the login form, and the session's CSRF token for the forms it posts.
* :func:`make_people`: the usual cast of users in two teams; :func:`text_of`: a page's text.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, NamedTuple

import httpx

from .records import Actor
from .site import Site
from .web.app import create_app
from .web.auth import issue_token
from .web.ui.context import LOCALE_COOKIE, TZ_COOKIE

if TYPE_CHECKING:
    from starlette.testclient import TestClient

#: the password :func:`page_clients` gives a user before signing in as it (browser tests may use it too)
TEST_PASSWORD = "s3cret-pass"
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
SYSTEM = Actor.system("cli")


class ApiClient:
    """A synchronous face on httpx's in-process ASGI transport sending one user's bearer token.

    Each request runs on a thread of its own with its own event loop, so several clients may be
    driven at once from a thread pool. App errors come back as 500 answers, not exceptions.
    """

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

    def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)


def api_clients(site: Site) -> Callable[[Actor], ApiClient]:
    """``api_clients(site)(actor)``: an :class:`ApiClient` on one app for ``site``, with a new token for
    ``actor``'s user."""
    app = create_app(site=site)

    def client_for(actor: Actor) -> ApiClient:
        if actor.user_id is None:
            raise ValueError(f"actor {actor.label!r}: an API client needs a user (user_id is None)")
        return ApiClient(app, issue_token(site, actor.user_id)["token"])

    return client_for


class PageSession(NamedTuple):
    """A browser-less client signed in through the login form, and its session's CSRF token."""

    client: "TestClient"
    csrf_token: str


def page_clients(site: Site) -> Callable[..., PageSession]:
    """``page_clients(site)(user, locale=None, timezone=None, follow_redirects=False)`` → a :class:`PageSession`.

    ``user`` is an :class:`~kernel.Actor` or a user's email. The user's password is set to
    :data:`TEST_PASSWORD` first; ``locale`` and ``timezone`` are the cookies an anonymous browser
    would send (``"zh_CN"``, ``"Asia/Shanghai"``). The sign-in must redirect (303), or the test fails.
    """
    from starlette.testclient import TestClient  # on httpx2 (a dependency): with httpx alone it warns that this is deprecated

    app = create_app(site=site)

    def sign_in(user: Actor | str, *, locale: str | None = None, timezone: str | None = None,
                follow_redirects: bool = False) -> PageSession:
        if isinstance(user, Actor):
            record = site.records.get(SYSTEM, "users", user.user_id)
        else:
            found = site.records.list(SYSTEM, "users", filters={"email": user}).items
            assert found, f"no user with email {user!r}"
            record = found[0]
        site.records.update(SYSTEM, "users", record["id"], {"password": TEST_PASSWORD})
        client = TestClient(app, follow_redirects=follow_redirects)
        if locale:
            client.cookies.set(LOCALE_COOKIE, locale)
        if timezone:
            client.cookies.set(TZ_COOKIE, timezone)
        form = {"email": record["email"], "password": TEST_PASSWORD, "next": "/", "csrf_token": csrf_token(client.get("/login").text)}
        answer = client.post("/login", data=form, follow_redirects=False)
        assert answer.status_code == 303, f"signing in as {record['email']}: {answer.status_code} {answer.text[:300]}"
        return PageSession(client, csrf_token(client.get("/", follow_redirects=True).text))

    return sign_in


def csrf_token(html: str) -> str:
    """The CSRF token in a page's forms (the first ``csrf_token`` field)."""
    found = CSRF_FIELD.search(html)
    assert found, "the page has no csrf_token field"
    return found.group(1)


def text_of(html: str) -> str:
    """A page's text: tags out, white space squeezed to single spaces."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def make_people(site: Site) -> dict[str, Actor]:
    """Five users, ``<key>@example.com``, as :class:`~kernel.Actor` by key: ``admin``; ``manager``
    (``sales_manager``) of team North, with the ``sales_rep`` users ``rep`` and ``rep2``; ``outsider``,
    a ``sales_rep`` of team South."""
    north = site.records.create(SYSTEM, "teams", {"name": "North"})
    south = site.records.create(SYSTEM, "teams", {"name": "South"})
    found = {}
    for key, role, team in (
        ("admin", "admin", None), ("manager", "sales_manager", north), ("rep", "sales_rep", north),
        ("rep2", "sales_rep", north), ("outsider", "sales_rep", south),
    ):
        values = {"email": f"{key}@example.com", "name": key.title(), "role": role, "team_id": team and team["id"]}
        user = site.records.create(SYSTEM, "users", values)
        found[key] = Actor(user_id=user["id"], label=user["email"], role=role, team_id=user["team_id"])
    site.records.update(SYSTEM, "teams", north["id"], {"manager_id": found["manager"].user_id})
    return found
