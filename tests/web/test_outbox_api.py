"""Admin API on the outbox: dead letters listed, one retried."""

import pytest

from kernel import Actor
from kernel.outbox import dispatch
from tests.example import plugin as notes_plugin
from tests.test_outbox import Listener

pytestmark = pytest.mark.anyio
ADMIN = Actor(user_id=None, label="tester", role="admin", channel="api")


@pytest.fixture
def listener():
    return Listener()


@pytest.fixture
def site(make_site, listener):
    return make_site(notes_plugin, listener.plugin("listener"))


async def test_admin_lists_dead_letters_and_retries_one(site, listener, client, rep):
    listener.failing.add("api")
    site.records.create(ADMIN, "notes", {"title": "api"})
    dispatch(site, max_attempts=1)
    assert (await rep.get("/api/v1/outbox/dead")).status_code == 403
    body = (await client.get("/api/v1/outbox/dead")).json()
    assert body["total"] == 1 and body["items"][0]["event"] == "notes.created" and body["items"][0]["attempts"] == 1
    letter = body["items"][0]["id"]
    missing = await client.post(f"/api/v1/outbox/dead/{letter + 1}/retry")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert (await client.post(f"/api/v1/outbox/dead/{letter}/retry")).json() == {"retried": letter}
    listener.failing.clear()
    dispatch(site, max_attempts=1)
    assert [e.name for e in listener.seen if e.entity == "notes"] == ["notes.created"]
    assert (await client.get("/api/v1/outbox/dead")).json()["total"] == 0
