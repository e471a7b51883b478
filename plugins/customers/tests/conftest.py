"""Fixtures: a site with only ``customers`` enabled, and an SMTP server (the people and the HTTP clients are
:mod:`kernel.testing`'s, also for a site a test built itself: ``people_for``, ``http_for``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kernel import Actor, Site
from kernel.testing import (  # noqa: F401 - fixtures
    ApiClient, api_clients, clock, database_url, free_port, http, make_people, make_site, people,
)

SYSTEM = Actor.system("cli")


@pytest.fixture
def site(make_site: Callable[..., Site]) -> Site:  # noqa: F811
    return make_site(plugins=("customers",))  # installed through the crm.plugins entry point


@pytest.fixture
def people_for() -> Callable[[Site], dict[str, Actor]]:
    """The same people on a site a test built itself."""
    return make_people


@pytest.fixture
def http_for() -> Callable[[Site], Callable[[Actor], ApiClient]]:
    """HTTP clients on a site a test built itself."""
    return api_clients


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
