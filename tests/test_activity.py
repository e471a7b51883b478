"""A record's activity timeline: its audit entries merged with ``record_activity`` answers, paged exactly."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from openapi_spec_validator import validate
from starlette.testclient import TestClient

from kernel import Actor, NotFound, ValidationError
from kernel.activity import MalformedActivity, record_activity
from kernel.web.app import create_app
from kernel.web.auth import issue_token
from tests.example import plugin as notes_plugin
from tests.helpers import plugin_module

SYSTEM = Actor.system("cli")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


class Gossip:
    """What the test plugin answers: entries per note id, and the limits it was asked for."""

    def __init__(self) -> None:
        self.entries: dict[int, list[dict[str, Any]]] = {}
        self.asked: list[int] = []

    def answer(self, entity: str, record_id: int, limit: int) -> list[dict[str, Any]] | None:
        if entity != "notes":
            return None
        self.asked.append(limit)
        entries = self.entries.get(record_id, [])
        if all(isinstance(e, dict) and isinstance(e.get("at"), datetime) and e["at"].tzinfo for e in entries):
            entries = sorted(entries, key=lambda e: e["at"], reverse=True)  # newest first, as the hook asks
        return entries[:limit]


@pytest.fixture
def gossip() -> Gossip:
    return Gossip()


@pytest.fixture
def site(make_site, gossip):
    def record_activity(entity: str, record_id: int, limit: int) -> list[dict[str, Any]] | None:
        return gossip.answer(entity, record_id, limit)

    plugin = plugin_module("gossip", requires=("notes",), record_activity=record_activity)
    return make_site(notes_plugin, plugin)


def call(site: Any, note_id: int, **kwargs: Any) -> dict[str, Any]:
    return record_activity(site, SYSTEM, "notes", note_id, **kwargs)


def test_audit_entries_and_plugin_entries_are_merged_newest_first(site, gossip, clock):
    note = site.records.create(SYSTEM, "notes", {"title": "plan"})
    started = clock.now()
    clock.advance(minutes=10)
    site.records.update(SYSTEM, "notes", note["id"], {"priority": 1})
    other = site.records.create(SYSTEM, "notes", {"title": "other"})
    gossip.entries[note["id"]] = [
        {"at": started + timedelta(minutes=5), "kind": "call", "title": "Called the client", "entity": "notes", "record_id": other["id"], "data": {"minutes": 3}},
        {"at": started + timedelta(minutes=20), "kind": "mail", "title": "Sent the offer"},
    ]
    page = call(site, note["id"])
    assert [(e["kind"], e["title"]) for e in page["items"]] == [
        ("mail", "Sent the offer"), ("change", "update"), ("call", "Called the client"), ("change", "create"),
    ]
    mail, update, phoned, created = page["items"]
    assert mail == {"at": (started + timedelta(minutes=20)).isoformat(), "kind": "mail", "title": "Sent the offer", "entity": None, "record_id": None, "data": {}}
    assert phoned["entity"] == "notes" and phoned["record_id"] == other["id"] and phoned["data"] == {"minutes": 3}
    assert update["entity"] == "notes" and update["record_id"] == note["id"]
    assert update["data"]["changes"] == {"priority": [3, 1]} and update["data"]["channel"] == "cli"
    assert created["data"]["changes"]["title"] == [None, "plan"]
    assert page["next_offset"] is None and page["limit"] == 20 and page["offset"] == 0
    assert gossip.asked == [21]  # offset + limit + 1
    assert call(site, other["id"])["items"][0]["title"] == "create"  # another record's timeline holds only its own


def test_pages_are_exact_across_sources_and_ties(site, gossip, clock):
    note = site.records.create(SYSTEM, "notes", {"title": "busy"})
    start = clock.now()
    for step in range(7):
        clock.advance(minutes=3)
        site.records.update(SYSTEM, "notes", note["id"], {"priority": 1 + step % 5})
    # several plugin entries share a moment with each other and with the audit entries
    gossip.entries[note["id"]] = [
        {"at": start + timedelta(minutes=3 * (i // 2)), "kind": "call" if i % 2 else "mail", "title": f"g{i}"} for i in range(9)
    ]
    everything = call(site, note["id"], limit=200)["items"]
    assert len(everything) == 8 + 9
    moments = [e["at"] for e in everything]
    assert moments == sorted(moments, reverse=True)
    for size in (1, 2, 3, 5):
        collected, offset = [], 0
        while offset is not None:
            page = call(site, note["id"], limit=size, offset=offset)
            assert len(page["items"]) <= size
            collected.extend(page["items"])
            offset = page["next_offset"]
        assert collected == everything, size
    last = call(site, note["id"], limit=5, offset=15)
    assert len(last["items"]) == 2 and last["next_offset"] is None
    assert call(site, note["id"], limit=5, offset=100)["items"] == []


def test_a_record_the_actor_may_not_see_is_not_found(site, gossip):
    owner = site.records.create(SYSTEM, "users", {"email": "ann@example.com", "role": "sales_rep"})
    other = site.records.create(SYSTEM, "users", {"email": "bob@example.com", "role": "sales_rep"})
    note = site.records.create(SYSTEM, "notes", {"title": "private", "owner_id": owner["id"]})
    ann = Actor(user_id=owner["id"], label="ann@example.com", role="sales_rep")
    bob = Actor(user_id=other["id"], label="bob@example.com", role="sales_rep")
    assert record_activity(site, ann, "notes", note["id"])["items"][0]["title"] == "create"
    with pytest.raises(NotFound):
        record_activity(site, bob, "notes", note["id"])
    with pytest.raises(NotFound):
        call(site, 999)
    assert gossip.asked == [21]  # the plugin was never asked about a record the actor cannot see


@pytest.mark.parametrize(
    "entry, problem",
    [
        ({"at": datetime(2026, 1, 5, 9), "kind": "call", "title": "naive"}, "timezone-aware"),
        ({"at": datetime(2026, 1, 5, 9, tzinfo=timezone.utc), "title": "no kind"}, "'kind'"),
        ({"at": datetime(2026, 1, 5, 9, tzinfo=timezone.utc), "kind": "call", "titel": "typo"}, "unknown keys ['titel']"),
        ({"at": datetime(2026, 1, 5, 9, tzinfo=timezone.utc), "kind": "call", "entity": "notes"}, "go together"),
        ({"at": datetime(2026, 1, 5, 9, tzinfo=timezone.utc), "kind": "call", "data": [1]}, "'data'"),
        ("just text", "must be a dict"),
    ],
)
def test_a_malformed_plugin_entry_fails_loudly(site, gossip, entry, problem):
    note = site.records.create(SYSTEM, "notes", {"title": "x"})
    gossip.entries[note["id"]] = [entry]
    with pytest.raises(MalformedActivity, match=re.escape(problem)):
        call(site, note["id"])


def test_limit_and_offset_are_checked(site):
    note = site.records.create(SYSTEM, "notes", {"title": "x"})
    for kwargs, loc in (({"limit": 0}, "limit"), ({"limit": 201}, "limit"), ({"offset": -1}, "offset"), ({"limit": True}, "limit")):
        with pytest.raises(ValidationError) as caught:
            call(site, note["id"], **kwargs)
        assert caught.value.details[0]["loc"] == ["query", loc]


# -- GET /api/v1/E/{id}/activity --------------------------------------------------------------------


def api_client(site: Any, email: str, role: str) -> TestClient:
    user = site.records.create(SYSTEM, "users", {"email": email, "password": "s3cret-pass", "role": role})
    token = issue_token(site, user["id"])["token"]
    return TestClient(create_app(site=site), headers={"Authorization": f"Bearer {token}"})


def test_the_api_pages_the_timeline_and_refuses_bad_parameters(site, gossip, clock):
    client = api_client(site, "admin@example.com", "admin")
    note = site.records.create(SYSTEM, "notes", {"title": "api"})
    clock.advance(hours=1)
    site.records.update(SYSTEM, "notes", note["id"], {"status": "done"})
    gossip.entries[note["id"]] = [{"at": clock.now() - timedelta(minutes=30), "kind": "call", "title": "Called"}]
    first = client.get(f"/api/v1/notes/{note['id']}/activity?limit=2")
    assert first.status_code == 200
    body = first.json()
    assert [e["title"] for e in body["items"]] == ["update", "Called"] and body["next_offset"] == 2
    assert body["items"][0]["at"] == clock.now().isoformat()
    rest = client.get(f"/api/v1/notes/{note['id']}/activity?limit=2&offset=2").json()
    assert [e["title"] for e in rest["items"]] == ["create"] and rest["next_offset"] is None
    for query, loc in (("limit=0", "limit"), ("limit=abc", "limit"), ("limit=201", "limit"), ("offset=-1", "offset"), ("limit=1&limit=2", "limit")):
        refused = client.get(f"/api/v1/notes/{note['id']}/activity?{query}")
        assert refused.status_code == 422, query
        assert refused.json()["error"]["details"][0]["loc"] == ["query", loc], query
    assert client.get("/api/v1/notes/999/activity").status_code == 404
    assert client.get("/api/v1/notes/abc/activity").status_code == 404
    assert client.get("/api/v1/nothing/1/activity").status_code == 404


def test_the_api_hides_a_record_the_caller_may_not_see(site):
    note = site.records.create(SYSTEM, "notes", {"title": "admin's"})
    rep = api_client(site, "rep@example.com", "sales_rep")
    response = rep.get(f"/api/v1/notes/{note['id']}/activity")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_openapi_describes_the_activity_endpoint(site):
    document = api_client(site, "reader@example.com", "sales_rep").get("/api/v1/openapi.json").json()  # needs a login
    validate(document)
    path = document["paths"]["/api/v1/notes/{id}/activity"]
    assert {p["name"] for p in path["get"]["parameters"]} == {"limit", "offset"}
    limit = next(p for p in path["get"]["parameters"] if p["name"] == "limit")
    assert limit["schema"]["maximum"] == 200
    assert path["get"]["responses"]["200"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ActivityPage"}
    page = document["components"]["schemas"]["ActivityPage"]
    assert set(page["required"]) == {"items", "limit", "offset", "next_offset"}
    assert "/api/v1/users/{id}/activity" in document["paths"]
