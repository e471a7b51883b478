"""Ownership and sharing: only the assign path moves a record to another owner; sharing is the owner's call."""

from __future__ import annotations

import pytest

from kernel import Forbidden, ownership_events

from .conftest import SYSTEM, customer


def test_a_sharee_cannot_take_a_customer_through_a_patch(site, people, http):
    acme = customer(site, people["rep"], shared_user_ids=[people["outsider"].user_id])
    taken = http(people["outsider"]).patch(f"/api/v1/customers/{acme['id']}", json={"owner_id": people["outsider"].user_id})
    assert taken.status_code == 422
    assert taken.json()["error"]["details"][0]["loc"] == ["owner_id"]
    assert "assign" in taken.json()["error"]["message"]
    assert site.records.get(SYSTEM, "customers", acme["id"])["owner_id"] == people["rep"].user_id
    assert http(people["rep"]).get(f"/api/v1/customers/{acme['id']}").status_code == 200


def test_nobody_changes_an_owner_through_a_patch_not_even_a_manager_or_an_admin(site, people, http):
    acme = customer(site, people["rep"])
    for who in ("manager", "admin"):
        moved = http(people[who]).patch(f"/api/v1/customers/{acme['id']}", json={"owner_id": people["rep2"].user_id})
        assert moved.status_code == 422, who
    same = http(people["rep"]).patch(f"/api/v1/customers/{acme['id']}", json={"owner_id": people["rep"].user_id, "level": "A"})
    assert same.status_code == 200 and same.json()["level"] == "A"  # sending the current owner (a whole form) is fine


def test_a_sharee_cannot_take_a_followup_or_a_task(site, people, http):
    acme = customer(site, people["rep"], shared_user_ids=[people["outsider"].user_id])
    note = site.records.create(people["rep"], "followups", {"customer_id": acme["id"], "method": "call"})
    task = site.records.create(people["rep"], "tasks", {"customer_id": acme["id"], "title": "quote"})
    outsider = http(people["outsider"])
    # the sharee reads them through the customer, and may not change them at all
    assert outsider.patch(f"/api/v1/followups/{note['id']}", json={"owner_id": people["outsider"].user_id}).status_code == 403
    assert outsider.patch(f"/api/v1/tasks/{task['id']}", json={"assignee_id": people["outsider"].user_id}).status_code == 403
    assert site.records.get(SYSTEM, "followups", note["id"])["owner_id"] == people["rep"].user_id
    assert site.records.get(SYSTEM, "tasks", task["id"])["assignee_id"] == people["rep"].user_id


def test_a_sharee_cannot_share_onward_or_unshare(site, people, http):
    acme = customer(site, people["rep"], shared_user_ids=[people["outsider"].user_id])
    outsider = http(people["outsider"])
    onward = outsider.patch(f"/api/v1/customers/{acme['id']}", json={"shared_team_ids": [people["outsider"].team_id]})
    assert onward.status_code == 403
    assert onward.json()["error"]["details"][0]["loc"] == ["shared_team_ids"]
    assert outsider.patch(f"/api/v1/customers/{acme['id']}", json={"shared_user_ids": []}).status_code == 403
    assert outsider.patch(f"/api/v1/customers/{acme['id']}", json={"team_id": people["outsider"].team_id}).status_code == 403
    assert outsider.patch(f"/api/v1/customers/{acme['id']}", json={"level": "B"}).status_code == 200  # editing stays allowed
    stored = site.records.get(SYSTEM, "customers", acme["id"])
    assert stored["shared_user_ids"] == [people["outsider"].user_id] and stored["shared_team_ids"] == []


def test_the_owner_and_the_team_manager_decide_about_sharing(site, people, http):
    acme = customer(site, people["rep"])
    shared = http(people["rep"]).patch(f"/api/v1/customers/{acme['id']}", json={"shared_user_ids": [people["outsider"].user_id]})
    assert shared.status_code == 200
    assert http(people["rep"]).patch(f"/api/v1/customers/{acme['id']}", json={"team_id": people["outsider"].team_id}).status_code == 200
    unshared = http(people["manager"]).patch(f"/api/v1/customers/{acme['id']}", json={"shared_user_ids": []})
    assert unshared.status_code == 200 and unshared.json()["shared_user_ids"] == []
    same = http(people["rep2"]).get(f"/api/v1/customers/{acme['id']}")
    assert same.status_code == 404  # a teammate rep does not see it at all


def test_a_manager_who_only_sees_a_customer_through_a_share_may_not_reshare_it(site, people, http):
    theirs = customer(site, people["outsider"], shared_user_ids=[people["manager"].user_id])
    refused = http(people["manager"]).patch(f"/api/v1/customers/{theirs['id']}", json={"shared_user_ids": [people["rep"].user_id]})
    assert refused.status_code == 403


def test_creating_a_record_for_someone_else_needs_assign(site, people):
    with pytest.raises(Forbidden):
        customer(site, people["rep"], owner_id=people["rep2"].user_id)
    assert customer(site, people["manager"], owner_id=people["rep2"].user_id)["owner_id"] == people["rep2"].user_id


# -- the assign path ----------------------------------------------------------------------------


def events(site, entity, record_id):
    with site.engine.connect() as conn:
        return [(e["from_owner"], e["to_owner"], e["actor_id"], e["reason"]) for e in ownership_events(conn, entity, record_id)]


def test_a_manager_assigns_a_customer_with_a_reason_kept_in_history_and_events(site, people, http):
    acme = customer(site, people["rep"])
    given = http(people["manager"]).post(f"/api/v1/customers/{acme['id']}/assign", json={"owner_id": people["rep2"].user_id, "reason": "rep on leave"})
    assert given.status_code == 200, given.text
    assert given.json()["owner_id"] == people["rep2"].user_id and given.json()["id"] == acme["id"]
    history = http(people["manager"]).get(f"/api/v1/customers/{acme['id']}/history").json()["items"]
    assert history[0]["action"] == "assign"
    assert history[0]["changes"] == {"owner_id": [people["rep"].user_id, people["rep2"].user_id], "body": {"owner_id": people["rep2"].user_id, "reason": "rep on leave"}}
    assert events(site, "customers", acme["id"]) == [(people["rep"].user_id, people["rep2"].user_id, people["manager"].user_id, "rep on leave")]
    assert http(people["rep"]).get(f"/api/v1/customers/{acme['id']}").status_code == 404
    assert http(people["rep2"]).get(f"/api/v1/customers/{acme['id']}").status_code == 200


def test_assign_is_refused_to_reps_sharees_and_outsiders_and_changes_nothing(site, people, http):
    acme = customer(site, people["rep"], shared_user_ids=[people["outsider"].user_id])
    south = customer(site, people["outsider"], shared_user_ids=[people["manager"].user_id])
    body = {"owner_id": people["outsider"].user_id}
    assert http(people["outsider"]).post(f"/api/v1/customers/{acme['id']}/assign", json=body).status_code == 403  # no customers.assign
    assert http(people["rep"]).post(f"/api/v1/customers/{acme['id']}/assign", json={"owner_id": people["rep2"].user_id}).status_code == 403
    through_share = http(people["manager"]).post(f"/api/v1/customers/{south['id']}/assign", json={"owner_id": people["manager"].user_id})
    assert through_share.status_code == 403  # sees it only because it is shared with them
    other_team = customer(site, people["outsider"])
    assert http(people["manager"]).post(f"/api/v1/customers/{other_team['id']}/assign", json={"owner_id": people["rep"].user_id}).status_code == 404
    assert [site.records.get(SYSTEM, "customers", c["id"])["owner_id"] for c in (acme, south, other_team)] == [people["rep"].user_id, people["outsider"].user_id, people["outsider"].user_id]
    assert events(site, "customers", acme["id"]) == events(site, "customers", south["id"]) == []


def test_assign_checks_the_new_owner_and_the_body(site, people, http):
    acme = customer(site, people["rep"])
    manager = http(people["manager"])
    site.records.update(SYSTEM, "users", people["rep2"].user_id, {"active": False})
    inactive = manager.post(f"/api/v1/customers/{acme['id']}/assign", json={"owner_id": people["rep2"].user_id})
    assert inactive.status_code == 422 and inactive.json()["error"]["details"][0]["loc"] == ["owner_id"]
    assert manager.post(f"/api/v1/customers/{acme['id']}/assign", json={"owner_id": 99999}).status_code == 422
    for bad in ({}, {"owner_id": "7"}, {"owner_id": 0}, {"owner_id": people["rep"].user_id, "extra": 1}, {"owner_id": people["rep"].user_id, "reason": "x" * 501}):
        refused = manager.post(f"/api/v1/customers/{acme['id']}/assign", json=bad)
        assert refused.status_code == 422, bad
        assert refused.json()["error"]["details"][0]["loc"][0] == "body"
    assert http(people["manager"]).post("/api/v1/contacts/1/assign", json={"owner_id": people["rep"].user_id}).status_code == 404  # contacts have no owner


def test_assign_works_for_followups_and_tasks_and_many_records_are_all_or_nothing(site, people):
    acme = customer(site, people["rep"])
    task = site.records.create(people["rep"], "tasks", {"customer_id": acme["id"], "title": "quote"})
    note = site.records.create(people["rep"], "followups", {"customer_id": acme["id"], "method": "call"})
    [moved] = site.records.assign(people["manager"], "tasks", [task["id"]], people["rep2"].user_id)
    assert moved["assignee_id"] == people["rep2"].user_id
    assert events(site, "tasks", task["id"]) == [(people["rep"].user_id, people["rep2"].user_id, people["manager"].user_id, None)]
    theirs = customer(site, people["outsider"])
    with pytest.raises(Exception) as caught:
        site.records.assign(people["manager"], "customers", [acme["id"], theirs["id"]], people["rep2"].user_id)
    assert caught.value.details[0]["loc"][:2] == ["ids", 1] and str(theirs["id"]) in caught.value.message
    assert site.records.get(SYSTEM, "customers", acme["id"])["owner_id"] == people["rep"].user_id
    assert events(site, "customers", acme["id"]) == []
    [given] = site.records.assign(people["manager"], "followups", [note["id"]], people["manager"].user_id, "covering")
    assert given["owner_id"] == people["manager"].user_id


def test_a_merge_that_picks_the_other_owner_goes_through_assign(site, people):
    keep = customer(site, people["rep"], name="Keep")
    gone = customer(site, people["rep2"], name="Gone")
    result = site.records.act(people["manager"], "customers", keep["id"], "merge", {"other_id": gone["id"], "fields": {"owner_id": "other"}})
    assert result["record"]["owner_id"] == people["rep2"].user_id
    assert events(site, "customers", keep["id"]) == [(people["rep"].user_id, people["rep2"].user_id, people["manager"].user_id, f"merge of customer {gone['id']}")]
    site.records.act(people["manager"], "customers", keep["id"], "unmerge", {"merge_id": result["merge_id"]})
    assert site.records.get(SYSTEM, "customers", keep["id"])["owner_id"] == people["rep"].user_id


def test_a_manager_who_only_sees_a_customer_through_a_share_may_not_delete_or_merge_it_away(site, people, http):
    theirs = customer(site, people["outsider"], name="South Co", shared_user_ids=[people["manager"].user_id])
    mine = customer(site, people["rep"], name="North Co")
    manager = http(people["manager"])
    assert manager.request("DELETE", f"/api/v1/customers/{theirs['id']}").status_code == 403
    merged = manager.post(f"/api/v1/customers/{mine['id']}/merge", json={"other_id": theirs["id"]})
    assert merged.status_code == 403
    assert site.records.get(SYSTEM, "customers", theirs["id"])["name"] == "South Co"
    own_team = customer(site, people["rep2"], name="Spare")
    assert manager.request("DELETE", f"/api/v1/customers/{own_team['id']}").status_code == 204
