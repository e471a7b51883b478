"""HTTP fixtures: an app on a fresh site with ``notes`` and ``extras``, and clients acting as a user."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from kernel import Actor
from kernel.web.app import create_app
from kernel.web.auth import issue_token
from tests.example import plugin as notes_plugin
from tests.web import extras


@pytest.fixture
def site(make_site):
    return make_site(notes_plugin, extras)


@pytest.fixture
def app(site):
    return create_app(site=site)


def make_user(site: Any, email: str, role: str) -> dict[str, Any]:
    user = site.records.create(Actor.system("cli"), "users", {"email": email, "password": "s3cret-pass", "role": role})
    return {**user, "token": issue_token(site, user["id"])["token"]}


@pytest.fixture
def admin_user(site):
    return make_user(site, "admin@example.com", "admin")


@pytest.fixture
def rep_user(site):
    return make_user(site, "rep@example.com", "sales_rep")


@pytest.fixture
def anyio_backend():
    return "asyncio"


def http_client(app: Any, token: str | None = None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver", headers=headers)


@pytest.fixture
async def anon(app, anyio_backend):
    """A client that sends no credentials."""
    async with http_client(app) as client:
        yield client


@pytest.fixture
async def client(app, admin_user, anyio_backend):
    """A client acting as an admin."""
    async with http_client(app, admin_user["token"]) as client:
        yield client


@pytest.fixture
async def rep(app, rep_user, anyio_backend):
    """A client acting as a sales rep."""
    async with http_client(app, rep_user["token"]) as client:
        yield client
