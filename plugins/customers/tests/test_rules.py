"""Record rules: a rep sees own and shared customers; a manager the team's; contacts follow their customer."""

from .conftest import SYSTEM


def names(client, entity="customers"):
    answer = client.get(f"/api/v1/{entity}", params={"sort": "name"})
    assert answer.status_code == 200, answer.text
    return [r["name"] for r in answer.json()["items"]]


def test_rep_sees_own_and_shared_customers_manager_sees_the_team(site, people, http):
    rep, rep2, outsider = people["rep"], people["rep2"], people["outsider"]
    site.records.create(rep, "customers", {"name": "Rep own"})
    site.records.create(rep2, "customers", {"name": "Rep2 own"})
    site.records.create(outsider, "customers", {"name": "South shared with rep", "shared_user_ids": [rep.user_id]})
    site.records.create(outsider, "customers", {"name": "South shared with North", "shared_team_ids": [rep.team_id]})
    site.records.create(outsider, "customers", {"name": "South private"})

    assert names(http(rep)) == ["Rep own", "South shared with North", "South shared with rep"]
    assert names(http(rep2)) == ["Rep2 own", "South shared with North"]
    assert names(http(people["manager"])) == ["Rep own", "Rep2 own", "South shared with North"]
    assert len(names(http(people["admin"]))) == 5


def test_unsharing_takes_the_customer_away(site, people, http):
    rep, outsider = people["rep"], people["outsider"]
    shared = site.records.create(outsider, "customers", {"name": "Shared", "shared_user_ids": [rep.user_id]})
    client = http(rep)
    assert client.get(f"/api/v1/customers/{shared['id']}").status_code == 200
    site.records.update(outsider, "customers", shared["id"], {"shared_user_ids": []})
    assert client.get(f"/api/v1/customers/{shared['id']}").status_code == 404


def test_contacts_and_followups_follow_their_customer(site, people, http):
    rep, outsider = people["rep"], people["outsider"]
    mine = site.records.create(rep, "customers", {"name": "Mine"})
    theirs = site.records.create(outsider, "customers", {"name": "Theirs"})
    shared = site.records.create(outsider, "customers", {"name": "Shared", "shared_user_ids": [rep.user_id]})
    for customer in (mine, theirs, shared):
        site.records.create(SYSTEM, "contacts", {"customer_id": customer["id"], "name": f"{customer['name']} contact"})
        site.records.create(outsider if customer is not mine else rep, "followups", {"customer_id": customer["id"], "method": "call", "content": customer["name"]})
    assert names(http(rep), "contacts") == ["Mine contact", "Shared contact"]
    contents = sorted(f["content"] for f in http(rep).get("/api/v1/followups").json()["items"])
    assert contents == ["Mine", "Shared"]
    their_contact = site.records.list(SYSTEM, "contacts", filters={"customer_id": theirs["id"]}).items[0]
    assert http(rep).patch(f"/api/v1/contacts/{their_contact['id']}", json={"title": "CEO"}).status_code == 404


def test_a_rep_may_add_contacts_to_a_visible_customer(site, people, http):
    mine = site.records.create(people["rep"], "customers", {"name": "Mine"})
    answer = http(people["rep"]).post("/api/v1/contacts", json={"customer_id": mine["id"], "name": "Li", "birthday": "1990-05-01"})
    assert answer.status_code == 201 and answer.json()["is_primary"] is True
