"""The lead lifecycle: transitions the state machine allows (409 naming the allowed ones otherwise), an
invalid lead's reason, the owner moving new ↔ assigned, the first follow-up making it contacting, the
conversion links only the convert action writes, and API errors naming the field."""

from __future__ import annotations

from .conftest import SYSTEM, make_leads, make_pool


def test_a_transition_the_lifecycle_does_not_allow_is_a_409_listing_the_allowed_ones(site, people, http):
    rep = people["rep"]
    lead = make_leads(site, make_pool(site, people)["id"], 1, owner_id=rep.user_id)[0]
    assert lead["status"] == "assigned"  # created with an owner
    answer = http(rep).request("PATCH", f"/api/v1/leads/{lead['id']}", json={"status": "new"})
    assert answer.status_code == 200, answer.text  # assigned → new is allowed (back to new)
    skipped = http(rep).request("PATCH", f"/api/v1/leads/{lead['id']}", json={"status": "qualified"})
    assert skipped.status_code == 409, skipped.text
    detail = skipped.json()["error"]["details"][0]
    assert sorted(detail["allowed"]) == ["assigned", "contacting", "invalid"], detail


def test_invalid_needs_a_reason_from_the_list_and_may_be_reopened(site, people, http):
    rep = people["rep"]
    lead = make_leads(site, make_pool(site, people)["id"], 1, owner_id=rep.user_id)[0]
    url = f"/api/v1/leads/{lead['id']}"
    bare = http(rep).request("PATCH", url, json={"status": "invalid"})
    assert bare.status_code == 422 and bare.json()["error"]["details"][0]["loc"][-1] == "invalid_reason", bare.text
    wrong = http(rep).request("PATCH", url, json={"status": "invalid", "invalid_reason": "not-a-reason"})
    assert wrong.status_code == 422 and wrong.json()["error"]["details"][0]["loc"][-1] == "invalid_reason", wrong.text
    by_label = http(rep).request("PATCH", url, json={"status": "invalid", "invalid_reason": "空号"})
    assert by_label.status_code == 200 and by_label.json()["invalid_reason"] == "wrong_number", by_label.text
    stuck = http(rep).request("PATCH", url, json={"status": "contacting"})
    assert stuck.status_code == 409 and stuck.json()["error"]["details"][0]["allowed"] == ["new"], stuck.text
    reopened = http(rep).request("PATCH", url, json={"status": "new"})
    assert reopened.status_code == 200 and reopened.json()["status"] == "new", reopened.text


def test_the_first_follow_up_makes_the_lead_contacting_and_moves_last_followed_at(site, people, clock):
    rep = people["rep"]
    lead = make_leads(site, make_pool(site, people)["id"], 1, owner_id=rep.user_id)[0]
    clock.advance(hours=3)
    site.records.create(rep, "followups", {"entity": "leads", "record_id": lead["id"], "method": "call", "content": "首次联系"})
    after = site.records.get(SYSTEM, "leads", lead["id"])
    assert after["status"] == "contacting" and after["last_followed_at"] == clock.now()
    site.records.create(rep, "followups", {"entity": "leads", "record_id": lead["id"], "method": "wechat",
                                           "followed_at": (clock.now().replace(hour=1)).isoformat()})
    assert site.records.get(SYSTEM, "leads", lead["id"])["last_followed_at"] == clock.now()  # an older follow-up does not move it back


def test_conversion_links_and_the_converted_state_are_the_convert_actions_own(site, people, http):
    rep = people["rep"]
    lead = make_leads(site, make_pool(site, people)["id"], 1, owner_id=rep.user_id)[0]
    for changes, field in (({"customer_id": 1}, "customer_id"), ({"converted_at": "2026-01-01T00:00:00Z"}, "converted_at"),
                           ({"status": "converted"}, "status")):
        answer = http(rep).request("PATCH", f"/api/v1/leads/{lead['id']}", json=changes)
        assert answer.status_code == 422 and answer.json()["error"]["details"][0]["loc"][-1] == field, answer.text
    created = http(rep).post("/api/v1/leads", json={"name": "x", "status": "converted"})
    assert created.status_code == 422 and created.json()["error"]["details"][0]["loc"][-1] == "status", created.text


def test_api_errors_name_the_field_and_the_reason(site, people, http):
    rep = people["rep"]
    cases = [
        ({"company": "无名"}, "name"),
        ({"name": "x", "email": "not-an-email"}, "email"),
        ({"name": "x", "phone": "call me"}, "phone"),
        ({"name": "x", "score": 101}, "score"),
        ({"name": "x", "source": "carrier-pigeon"}, "source"),
        ({"name": "x", "colour": "red"}, "colour"),
    ]
    for body, field in cases:
        answer = http(rep).post("/api/v1/leads", json=body)
        assert answer.status_code == 422, (body, answer.text)
        error = answer.json()["error"]
        assert error["code"] == "validation_error" and field in [str(p) for p in error["details"][0]["loc"]], (body, answer.text)
        assert error["details"][0]["msg"]
    pool = http(people["admin"]).post("/api/v1/lead_pools", json={"name": "p", "routing_rules": [{"field": "phone", "value": "1"}]})
    assert pool.status_code == 422 and "routing_rules" in [str(p) for p in pool.json()["error"]["details"][0]["loc"]], pool.text
    both = http(people["admin"]).post("/api/v1/lead_pools", json={"name": "p", "routing_rules": [{"field": "region", "value": "a", "in": ["b"]}]})
    assert both.status_code == 422 and "either" in both.json()["error"]["details"][0]["msg"], both.text


def test_a_lead_going_back_to_its_pool_uncontacted_is_new_again(site, people, http):
    rep = people["rep"]
    pool = make_pool(site, people)
    lead = make_leads(site, pool["id"], 1)[0]
    assert http(rep).post(f"/api/v1/leads/{lead['id']}/claim", json={}).status_code == 200
    assert site.records.get(SYSTEM, "leads", lead["id"])["status"] == "assigned"
    released = http(rep).post(f"/api/v1/leads/{lead['id']}/release", json={"reason": "无意向"})
    assert released.status_code == 200, released.text
    after = site.records.get(SYSTEM, "leads", lead["id"])
    assert (after["owner_id"], after["status"], after["pool_id"]) == (None, "new", pool["id"])
