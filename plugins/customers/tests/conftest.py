"""Fixtures: a site with only ``customers`` enabled, users in two teams, and HTTP clients acting as them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import asyncio
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from kernel import Actor, Site
from kernel.testing import clock, create_app, database_url, issue_token, make_site  # noqa: F401 - fixtures

SYSTEM = Actor.system("cli")


@pytest.fixture
def site(make_site: Callable[..., Site]) -> Site:  # noqa: F811
    return make_site(plugins=("customers",))  # installed through the crm.plugins entry point


@pytest.fixture
def people(site: Site) -> dict[str, Actor]:
    """``manager`` leads team North (``rep``, ``rep2``); ``outsider`` is a rep of team South; ``admin``."""
    return make_people(site)


@pytest.fixture
def people_for() -> Callable[[Site], dict[str, Actor]]:
    """The same people on a site a test built itself."""
    return make_people


def make_people(site: Site) -> dict[str, Actor]:
    north = site.records.create(SYSTEM, "teams", {"name": "North"})
    south = site.records.create(SYSTEM, "teams", {"name": "South"})
    found = {}
    for key, role, team in (
        ("admin", "admin", None),
        ("manager", "sales_manager", north),
        ("rep", "sales_rep", north),
        ("rep2", "sales_rep", north),
        ("outsider", "sales_rep", south),
    ):
        user = site.records.create(
            SYSTEM, "users", {"email": f"{key}@example.com", "name": key.title(), "role": role, "team_id": team and team["id"]}
        )
        found[key] = Actor(user_id=user["id"], label=user["email"], role=role, team_id=user["team_id"])
    site.records.update(SYSTEM, "teams", north["id"], {"manager_id": found["manager"].user_id})
    return found


class Client:
    """A synchronous face on httpx's in-process ASGI transport, sending one user's bearer token."""

    def __init__(self, app: Any, token: str):
        self.app, self.headers = app, {"Authorization": f"Bearer {token}"}

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver", headers=self.headers) as client:
                return await client.request(method, url, **kwargs)

        with ThreadPoolExecutor(1) as thread:  # its own event loop, whatever runs in this thread
            return thread.submit(asyncio.run, send()).result()

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", url, **kwargs)


@pytest.fixture
def http(site: Site) -> Callable[[Actor], Client]:
    """``http(actor)``: a client acting as ``actor``'s user."""
    return clients_for(site)


@pytest.fixture
def http_for() -> Callable[[Site], Callable[[Actor], Client]]:
    return clients_for


def clients_for(site: Site) -> Callable[[Actor], Client]:
    app = create_app(site=site)

    def client_for(actor: Actor) -> Client:
        assert actor.user_id is not None
        return Client(app, issue_token(site, actor.user_id)["token"])

    return client_for


def customer(site: Site, actor: Actor, **values: Any) -> dict[str, Any]:
    return site.records.create(actor, "customers", {"name": "ACME", **values})


class Inbox:
    """An aiosmtpd handler keeping every message it receives."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        from email import message_from_bytes, policy

        message = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        self.messages.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos), "message": message})
        return "250 OK"


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp_server() -> Any:
    """An SMTP server on 127.0.0.1 collecting messages: ``.port`` and ``.inbox.messages``."""
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    controller.inbox = inbox
    yield controller
    controller.stop()
