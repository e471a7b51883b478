"""Helpers of the UI, report and widget tests: a signed-in browser-less client, and closing records."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

from kernel import Actor, Site
from kernel.testing import create_app

from .. import mark_closed
from .conftest import SYSTEM

PASSWORD = "s3cret-pass"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def text_of(html: str) -> str:
    """The page's text, tags out and spaces squeezed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def browser_for(site: Site, people: dict[str, Actor]) -> Callable[[str], tuple[TestClient, str]]:
    """``sign_in("rep")``: a signed-in TestClient for one of ``people`` and its CSRF token."""
    app = create_app(site=site)

    def sign_in(who: str) -> tuple[TestClient, str]:
        site.records.update(SYSTEM, "users", people[who].user_id, {"password": PASSWORD})
        client = TestClient(app, follow_redirects=False)
        token = CSRF.search(client.get("/login").text).group(1)
        answer = client.post("/login", data={"email": f"{who}@example.com", "password": PASSWORD, "next": "/", "csrf_token": token})
        assert answer.status_code == 303, answer.text
        return client, CSRF.search(client.get("/").text).group(1)

    return sign_in


@pytest.fixture
def browse(site: Site, people: dict[str, Actor]) -> Callable[[str], tuple[TestClient, str]]:
    return browser_for(site, people)


def close(site: Site, ids: list[int]) -> None:
    """Records got closed (the test plugin's ``closed``), as the closed hook reports them to the engine."""
    with site.write() as conn:
        for record_id in ids:
            site.records.update(SYSTEM, "items", record_id, {"closed": True}, conn=conn)
        mark_closed(site, conn, "items", ids)
