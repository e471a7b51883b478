"""Per-request work the kernel must not repeat: a bearer token's last use is written once per LAST_USED_RESOLUTION, not on every request."""

from __future__ import annotations

import sqlalchemy as sa
from starlette.testclient import TestClient

from kernel import Actor
from kernel.web.app import create_app
from kernel.web.auth import issue_token
from tests.example import plugin as notes_plugin


def test_a_token_in_use_is_marked_used_once_not_on_every_request(make_site):
    site = make_site(notes_plugin, refresh_seconds=60)
    user = site.records.create(Actor.system("cli"), "users", {"email": "a@example.com", "password": "s3cret-pass", "role": "admin"})
    token = issue_token(site, user["id"])["token"]
    updates: list[str] = []

    @sa.event.listens_for(site.engine, "before_cursor_execute")
    def count(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001 - SQLAlchemy's signature
        if statement.lstrip().upper().startswith("UPDATE KERNEL_API_TOKENS"):
            updates.append(statement)

    with TestClient(create_app(site=site)) as client:
        for _ in range(5):
            assert client.get("/api/v1/notes", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert len(updates) == 1
