"""A customer's contacts, follow-ups and tasks are readable by whoever may read the customer (kernel ``parent=``)."""

from __future__ import annotations

from kernel.testing import record_activity

from .conftest import customer


def _colleagues_work(site, people):
    """``rep``'s customer, shared with ``rep2``, who logs a follow-up and a task on it."""
    rep, rep2 = people["rep"], people["rep2"]
    acme = customer(site, rep, name="ACME Parent", shared_user_ids=[rep2.user_id])
    followup = site.records.create(rep2, "followups", {"customer_id": acme["id"], "method": "call", "content": "colleague called zebra"})
    task = site.records.create(rep2, "tasks", {"customer_id": acme["id"], "title": "colleague task zebra"})
    return acme, followup, task


def test_a_rep_reads_what_a_colleague_logged_on_her_customer(site, people, http):
    rep = people["rep"]
    acme, followup, task = _colleagues_work(site, people)
    assert followup["owner_id"] == people["rep2"].user_id and task["assignee_id"] == people["rep2"].user_id
    client = http(rep)
    for entity, record in (("followups", followup), ("tasks", task)):
        page = client.get(f"/api/v1/{entity}").json()
        assert [r["id"] for r in page["items"]] == [record["id"]] and page["total"] == 1
        assert client.get(f"/api/v1/{entity}/{record['id']}").status_code == 200
        assert [r["id"] for r in client.get(f"/api/v1/{entity}", params={"q": "zebra"}).json()["items"]] == [record["id"]]
        assert site.records.list(rep, entity, filters={"customer_id": acme["id"]}).total == 1
    titles = [e["title"] for e in record_activity(site, rep, "customers", acme["id"])["items"]]
    assert "colleague task zebra" in titles and any("zebra" in (t or "") for t in titles)
    for entity in ("followups", "tasks"):  # signing in changes the password, which ends the API token above
        assert "zebra" in _exported(site, people, "rep", entity)


def _signed_in(site, people, who):
    from kernel.testing import page_clients

    return page_clients(site)(people[who]).client


def _exported(site, people, who, entity):
    """The CSV the list page's export gives ``who``."""
    from kernel.testing import page_clients

    client, token = page_clients(site)(people[who])
    answer = client.post(f"/r/{entity}/export", data={"format": "csv", "csrf_token": token})
    assert answer.status_code == 200, answer.text
    return answer.content.decode("utf-8-sig")


def test_the_customer_page_shows_a_colleagues_follow_up_and_task(site, people):
    acme, _, _ = _colleagues_work(site, people)
    client = _signed_in(site, people, "rep")
    page = client.get(f"/r/customers/{acme['id']}").text
    assert "colleague called zebra" in page and "colleague task zebra" in page  # the related cards
    tab = client.get(f"/r/customers/{acme['id']}/activity").text
    assert "colleague task zebra" in tab
    found = client.get("/search", params={"q": "zebra"}).text  # the search across entities
    assert "colleague called zebra" in found and "colleague task zebra" in found


def test_a_follow_up_read_through_its_customer_offers_no_edit_or_delete(site, people):
    _, followup, _ = _colleagues_work(site, people)
    page = _signed_in(site, people, "rep").get(f"/r/followups/{followup['id']}").text
    assert "colleague called zebra" in page
    assert f"/r/followups/{followup['id']}/edit" not in page and f"/r/followups/{followup['id']}/delete" not in page
    own = _signed_in(site, people, "rep2").get(f"/r/followups/{followup['id']}").text
    assert f"/r/followups/{followup['id']}/edit" in own


def test_the_record_rules_page_names_the_parents(site, people):
    page = _signed_in(site, people, "admin").get("/admin/record-rules").text
    assert page.count("都可读取它；修改仍需它自身的权限") == 3  # contacts, follow-ups, tasks (the site speaks 简体中文)


def test_reading_through_the_parent_gives_no_right_to_change(site, people, http):
    acme, followup, task = _colleagues_work(site, people)
    client = http(people["rep"])
    for entity, record, change in (("followups", followup, {"content": "mine now"}), ("tasks", task, {"title": "mine now"})):
        assert client.patch(f"/api/v1/{entity}/{record['id']}", json=change).status_code == 403
        assert client.request("DELETE", f"/api/v1/{entity}/{record['id']}").status_code == 403
        assert client.get(f"/api/v1/{entity}/{record['id']}").json()[next(iter(change))] != "mine now"


def test_who_cannot_see_the_customer_cannot_see_its_children(site, people, http):
    acme, followup, task = _colleagues_work(site, people)
    contact = site.records.create(people["rep"], "contacts", {"customer_id": acme["id"], "name": "Li Zebra"})
    client = http(people["outsider"])
    for entity, record in (("followups", followup), ("tasks", task), ("contacts", contact)):
        assert client.get(f"/api/v1/{entity}").json()["total"] == 0
        assert client.get(f"/api/v1/{entity}/{record['id']}").status_code == 404
        assert client.patch(f"/api/v1/{entity}/{record['id']}", json={}).status_code == 404
    access = http(people["admin"]).get(f"/api/v1/followups/{followup['id']}/access", params={"user_id": people["outsider"].user_id}).json()
    assert access["visible"] is False and "its parent is not visible" in access["actions"]["read"]["reason"]


def test_unsharing_the_customer_hides_what_hung_on_it(site, people):
    acme, followup, _ = _colleagues_work(site, people)
    site.records.create(people["rep"], "followups", {"customer_id": acme["id"], "method": "call", "content": "mine"})
    rep2 = people["rep2"]
    assert site.records.list(rep2, "followups").total == 2  # his own, and the owner's through the shared customer
    site.records.update(people["rep"], "customers", acme["id"], {"shared_user_ids": []})
    assert [r["id"] for r in site.records.list(rep2, "followups").items] == [followup["id"]]  # his own only


def test_access_explains_visible_through_its_parent(site, people, http):
    _, followup, _ = _colleagues_work(site, people)
    admin = http(people["admin"])
    access = admin.get(f"/api/v1/followups/{followup['id']}/access", params={"user_id": people["rep"].user_id}).json()
    assert access["visible"] is True
    parent = next(r for r in access["rules"] if r["rule"] == "parent")
    assert parent["matched"] is True and parent["detail"] == "customer_id → customers, entity, record_id"
    assert "visible through its parent" in access["actions"]["read"]["reason"]
    assert access["actions"]["update"]["allowed"] is False and access["actions"]["delete"]["allowed"] is False
    assert "not changed" in access["actions"]["update"]["reason"]
    own = admin.get(f"/api/v1/followups/{followup['id']}/access", params={"user_id": people["rep2"].user_id}).json()
    assert own["actions"]["update"]["allowed"] is True


def test_the_generic_pair_reaches_a_parent_of_another_entity(make_site, people_for):
    from tests.example import plugin as notes_plugin

    site = make_site(notes_plugin, plugins=("customers", "notes"))
    people = people_for(site)
    rep, manager, outsider = people["rep"], people["manager"], people["outsider"]
    note = site.records.create(rep, "notes", {"title": "call back"})
    followup = site.records.create(manager, "followups", {"entity": "notes", "record_id": note["id"], "method": "wechat", "content": "on a note"})
    assert followup["owner_id"] == manager.user_id
    assert [r["id"] for r in site.records.list(rep, "followups").items] == [followup["id"]]
    assert site.records.get(rep, "followups", followup["id"])["content"] == "on a note"
    assert site.records.list(outsider, "followups").total == 0
    assert site.records.list(rep, "followups", q="note").total == 1
    assert "on a note" in _exported(site, people, "rep", "followups")
    assert "on a note" not in _exported(site, people, "outsider", "followups")
