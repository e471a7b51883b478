"""Edit conflicts (kernel.versions): ETag on reads, If-Match on PATCH and actions, 409 with the current record."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.anyio


async def _note(client, title="call back"):
    created = await client.post("/api/v1/notes", json={"title": title})
    assert created.status_code == 201
    got = await client.get(f"/api/v1/notes/{created.json()['id']}")
    return got.json(), got.headers["etag"]


async def test_a_read_carries_a_version_and_a_write_changes_it(client):
    note, version = await _note(client)
    assert version.startswith('"') and version.endswith('"') and len(version) == 34
    again = await client.get(f"/api/v1/notes/{note['id']}")
    assert again.headers["etag"] == version  # nothing changed: same version
    saved = await client.patch(f"/api/v1/notes/{note['id']}", json={"title": "call back today"}, headers={"If-Match": version})
    assert saved.status_code == 200 and saved.headers["etag"] != version
    assert (await client.get(f"/api/v1/notes/{note['id']}")).headers["etag"] == saved.headers["etag"]


async def test_the_second_of_two_editors_gets_409_with_the_record_as_it_is_now(client):
    note, version = await _note(client)
    first = await client.patch(f"/api/v1/notes/{note['id']}", json={"title": "first editor"}, headers={"If-Match": version})
    assert first.status_code == 200
    second = await client.patch(f"/api/v1/notes/{note['id']}", json={"title": "second editor"}, headers={"If-Match": version})
    assert second.status_code == 409
    body = second.json()
    assert body["error"]["code"] == "conflict" and body["error"]["details"][0]["loc"] == ["header", "If-Match"]
    assert body["record"]["title"] == "first editor"
    assert second.headers["etag"] == first.headers["etag"]
    assert (await client.get(f"/api/v1/notes/{note['id']}")).json()["title"] == "first editor"  # nothing written


@pytest.mark.parametrize("sent", ["*", 'W/"{v}"', '"stale", "{v}"'])
async def test_if_match_accepts_any_a_weak_prefix_and_a_list(client, sent):
    note, version = await _note(client)
    answer = await client.patch(f"/api/v1/notes/{note['id']}", json={"title": "ok"}, headers={"If-Match": sent.format(v=version.strip('"'))})
    assert answer.status_code == 200


async def test_without_if_match_the_last_write_wins_as_before(client):
    note, _ = await _note(client)
    assert (await client.patch(f"/api/v1/notes/{note['id']}", json={"title": "a"})).status_code == 200
    assert (await client.patch(f"/api/v1/notes/{note['id']}", json={"title": "b"})).status_code == 200


async def test_an_action_with_a_stale_version_is_refused_and_does_nothing(client):
    note, version = await _note(client)
    await client.patch(f"/api/v1/notes/{note['id']}", json={"title": "changed meanwhile"})
    refused = await client.post(f"/api/v1/notes/{note['id']}/close", json={"reason": "done"}, headers={"If-Match": version})
    assert refused.status_code == 409 and refused.json()["record"]["status"] == "open"
    current = (await client.get(f"/api/v1/notes/{note['id']}")).headers["etag"]
    closed = await client.post(f"/api/v1/notes/{note['id']}/close", json={"reason": "done"}, headers={"If-Match": current})
    assert closed.status_code == 200 and closed.json()["status"] == "done"


async def test_a_stale_version_on_assign_is_refused(client, admin_user):
    note, version = await _note(client)
    await client.patch(f"/api/v1/notes/{note['id']}", json={"title": "changed meanwhile"})
    refused = await client.post(f"/api/v1/notes/{note['id']}/assign", json={"owner_id": admin_user["id"]}, headers={"If-Match": version})
    assert refused.status_code == 409


async def test_a_record_the_caller_cannot_see_is_404_whatever_the_version(client, rep):
    note, version = await _note(client)  # the admin's note: a rep reads only their own
    answer = await rep.patch(f"/api/v1/notes/{note['id']}", json={"title": "x"}, headers={"If-Match": '"nope"'})
    assert answer.status_code == 404 and "record" not in answer.json()
