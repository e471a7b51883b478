"""Helpers of the UI, report and widget tests: a signed-in browser-less client, and ownership events
written the way the engine writes them (the kernel's assign with an :class:`kernel.OwnerChange`)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from kernel import Actor, OwnerChange, Site
from kernel.testing import create_app

from ..models import HOLDS
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


def change_hands(site: Site, ids: list[int], owner_id: int | None, action: str, pool_id: int, *, reason: str | None = None,
                 rule: str | None = None) -> None:
    """Records change hands through pool ``pool_id`` as the engine records it: the kernel's assign with
    an ownership change, and (for a holder) the hold row, at the site clock's time."""
    change = OwnerChange(action, reason=reason, via_entity="item_pools", via_id=pool_id, rule=rule)
    now = site.clock.now()
    with site.write() as conn:
        site.records.assign(SYSTEM, "items", ids, owner_id, reason, conn=conn, change=change)
        conn.execute(sa.delete(HOLDS).where(HOLDS.c.entity == "items", HOLDS.c.record_id.in_(ids)))
        if owner_id is not None:
            conn.execute(sa.insert(HOLDS), [
                {"entity": "items", "record_id": i, "pool_id": pool_id, "user_id": owner_id, "assigned_at": now, "counted": True} for i in ids
            ])
