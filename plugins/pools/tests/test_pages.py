"""The pools pages: the pools with live counts, a pool's records with Claim and bulk assign, the
rules form, my holdings and a record's ownership history — as a rep, a pool admin and an outsider."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kernel.testing import browse, fire_due_timers, text_of  # noqa: F401 - fixture

from .. import assign, claim
from .conftest import SYSTEM, make_items, make_pool

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def site(make_site):
    from plugins.pools import plugin as pools_plugin

    from . import poolplugin

    built = make_site(pools_plugin, poolplugin, default_locale="en")
    poolplugin.create_tables(built.engine)
    return built


@pytest.fixture
def pool(site, people):
    return make_pool(site, member_ids=[people["rep"].user_id, people["rep2"].user_id], admin_ids=[people["manager"].user_id],
                     claim_limit=5, followup_days=7, close_days=30, masked_fields=["phone"])


def test_the_pools_page_counts_waiting_held_and_due_soon(site, people, pool, browse, clock):
    items = make_items(site, pool["id"], 4, phone="13800138000")
    claim(site, people["rep"], "items", items[0]["id"])
    clock.advance(timedelta(days=5))  # the first is due in 2 days, the second in 7
    claim(site, people["rep"], "items", items[1]["id"])
    client, _ = browse(people["manager"])
    page = client.get("/p/pools/")
    assert page.status_code == 200
    row = text_of(page.text)
    assert "Shanghai" in row and "Pool admin" in row
    # a kind's section is named by its pool's label, not the plural its settings menu may use
    assert '<h2 id="kind-item_pools">Item pool <span class="count">1</span></h2>' in page.text
    waiting = page.text.split('class="pool-waiting">')[1].split("<")[0]
    held = page.text.split('class="pool-held">')[1].split("<")[0]
    due = page.text.split('class="pool-due">')[1].split("<")[0]
    assert (waiting, held, due) == ("2", "2", "1")
    assert f'/p/pools/item_pools/{pool["id"]}/rules' not in page.text  # pool rules are for site admins
    admin, _ = browse(people["admin"])
    assert f'/p/pools/item_pools/{pool["id"]}/rules' in admin.get("/p/pools/").text


def test_an_outsider_sees_nothing_of_a_pool(site, people, pool, browse):
    make_items(site, pool["id"], 2)
    client, token = browse(people["outsider"])
    page = client.get("/p/pools/")
    assert page.status_code == 200
    assert "Shanghai" not in page.text and "No pool of this kind yet, or none you belong to." in page.text
    assert client.get(f"/p/pools/item_pools/{pool['id']}").status_code == 404
    assert client.post(f"/p/pools/item_pools/{pool['id']}/claim", data={"csrf_token": token, "id": "1"}).status_code == 404


def test_the_pool_list_pages_sorts_and_shows_masked_fields_masked(site, people, pool, browse):
    items = make_items(site, pool["id"], 30, phone="13800138000")
    client, _ = browse(people["rep"])
    first = client.get(f"/p/pools/item_pools/{pool['id']}")
    assert first.status_code == 200
    assert first.text.count('value="claim"') == 0  # claim is a button per row with the record's id
    assert first.text.count('formaction="/p/pools/item_pools/') == 25
    assert "Page 1 of 2" in text_of(first.text)
    second = client.get(f"/p/pools/item_pools/{pool['id']}?page=2")
    assert second.text.count('formaction="/p/pools/item_pools/') == 5
    by_name = client.get(f"/p/pools/item_pools/{pool['id']}?sort=-name")
    names = [n for n in (f"item {i}" for i in range(30)) if f">{n}<" in by_name.text]
    assert by_name.text.index(">item 9<") < by_name.text.index(">item 3<") < by_name.text.index(">item 29<")  # text order, descending
    assert len(names) == 25 and "item 10" not in names
    assert "13800138000" not in first.text and 'class="masked"' in first.text  # the pool masks phone for members
    assert not first.text.count('name="owner_id"')  # no bulk assign for a member


def test_claim_from_the_list_and_its_refusal_in_words(site, people, pool, browse):
    items = make_items(site, pool["id"], 7)
    site.records.update(SYSTEM, "item_pools", pool["id"], {"claim_limit": 1})
    client, token = browse(people["rep"])
    done = client.post(f"/p/pools/item_pools/{pool['id']}/claim", data={"csrf_token": token, "id": str(items[0]["id"]), "sort": "-name"})
    assert done.status_code == 303 and done.headers["location"].endswith(f"?sort=-name&claimed={items[0]['id']}")
    assert site.records.get(SYSTEM, "items", items[0]["id"])["owner_id"] == people["rep"].user_id
    assert "Claimed." in client.get(done.headers["location"]).text
    refused = client.post(f"/p/pools/item_pools/{pool['id']}/claim", data={"csrf_token": token, "id": str(items[1]["id"])})
    assert refused.status_code == 409
    assert "claim limit reached: 1" in text_of(refused.text.split('id="pool-error"')[1].split("</p>")[0])
    assert site.records.get(SYSTEM, "items", items[1]["id"])["owner_id"] is None
    client.cookies.set("crm_locale", "zh_CN")
    chinese = client.post(f"/p/pools/item_pools/{pool['id']}/claim", data={"csrf_token": token, "id": str(items[1]["id"])})
    assert chinese.status_code == 409 and "上限" in text_of(chinese.text.split('id="pool-error"')[1].split("</p>")[0])


def test_bulk_assign_is_for_the_pool_admin_and_all_or_nothing(site, people, pool, browse):
    items = make_items(site, pool["id"], 3)
    client, token = browse(people["manager"])
    page = client.get(f"/p/pools/item_pools/{pool['id']}")
    assert 'name="owner_id"' in page.text and "Rep2" in page.text
    nothing = client.post(f"/p/pools/item_pools/{pool['id']}/assign", data={"csrf_token": token, "owner_id": str(people["rep"].user_id)})
    assert nothing.status_code == 422 and "Tick the records to assign first." in nothing.text
    ids = [str(i["id"]) for i in items[:2]]
    done = client.post(f"/p/pools/item_pools/{pool['id']}/assign", data={"csrf_token": token, "owner_id": str(people["rep2"].user_id), "ids": ids, "reason": "fair"})
    assert done.status_code == 303 and "assigned=2" in done.headers["location"]
    owners = {r["id"]: r["owner_id"] for r in site.records.list(SYSTEM, "items").items}
    assert [owners[int(i)] for i in ids] == [people["rep2"].user_id] * 2 and owners[items[2]["id"]] is None
    site.records.update(SYSTEM, "item_pools", pool["id"], {"claim_limit": 2})
    over = client.post(f"/p/pools/item_pools/{pool['id']}/assign", data={"csrf_token": token, "owner_id": str(people["rep2"].user_id), "ids": [str(items[2]["id"])]})
    assert over.status_code == 409 and 'id="pool-error"' in over.text
    assert site.records.get(SYSTEM, "items", items[2]["id"])["owner_id"] is None
    rep, rep_token = browse(people["rep"])
    assert 'name="owner_id"' not in rep.get(f"/p/pools/item_pools/{pool['id']}").text
    refused = rep.post(f"/p/pools/item_pools/{pool['id']}/assign", data={"csrf_token": rep_token, "owner_id": str(people["rep"].user_id), "ids": [str(items[2]["id"])]})
    assert refused.status_code in (403, 409) and site.records.get(SYSTEM, "items", items[2]["id"])["owner_id"] is None


def test_a_rep_cannot_open_the_rules(site, people, pool, browse):
    client, token = browse(people["rep"])
    assert client.get(f"/p/pools/item_pools/{pool['id']}/rules").status_code == 403
    refused = client.post(f"/p/pools/item_pools/{pool['id']}/rules", data={"csrf_token": token, "name": "Mine"})
    assert refused.status_code == 403
    assert site.records.get(SYSTEM, "item_pools", pool["id"])["name"] == "Shanghai"


def test_the_rules_form_saves_members_by_name_limits_and_levels(site, people, pool, browse):
    client, token = browse(people["admin"])
    form = client.get(f"/p/pools/item_pools/{pool['id']}/rules")
    assert form.status_code == 200
    shown = text_of(form.text)
    assert "Claim limit" in shown and "Follow-up deadline, days" in shown and "Fields hidden until claimed" in shown
    assert ">Rep<" in form.text and ">Rep2<" in form.text  # members shown by name
    data = {
        "csrf_token": token, "name": "Shanghai East", "member_ids.present": "1", "member_ids": [str(people["rep"].user_id)],
        "member_team_ids.present": "1", "admin_ids.present": "1", "admin_ids": [str(people["manager"].user_id)], "admin_team_ids.present": "1",
        "assignment": "round_robin", "claim_limit": "20", "daily_claim_limit": "", "followup_days": "15", "close_days": "",
        "remind_hours": "24", "cooldown_days": "3", "masked_fields.present": "1", "masked_fields": ["phone", "email"],
        "level_overrides": "A: followup_days=30, close_days=60\nC: followup_days=7",
    }
    saved = client.post(f"/p/pools/item_pools/{pool['id']}/rules", data=data)
    assert saved.status_code == 303, text_of(saved.text)
    stored = site.records.get(SYSTEM, "item_pools", pool["id"])
    assert stored["name"] == "Shanghai East" and stored["member_ids"] == [people["rep"].user_id]
    assert (stored["assignment"], stored["claim_limit"], stored["daily_claim_limit"], stored["followup_days"], stored["close_days"]) == ("round_robin", 20, None, 15, None)
    assert sorted(stored["masked_fields"]) == ["email", "phone"]
    assert stored["level_overrides"] == {"A": {"followup_days": 30, "close_days": 60}, "C": {"followup_days": 7}}
    again = client.get(f"/p/pools/item_pools/{pool['id']}/rules?saved=1")
    assert "Rules saved." in again.text and "A: followup_days=30, close_days=60" in again.text


def test_the_rules_form_names_each_bad_value_and_writes_nothing(site, people, pool, browse):
    client, token = browse(people["admin"])
    data = {
        "csrf_token": token, "name": "", "assignment": "manual", "claim_limit": "-1", "followup_days": "0",
        "masked_fields.present": "1", "level_overrides": "",
    }
    refused = client.post(f"/p/pools/item_pools/{pool['id']}/rules", data=data)
    assert refused.status_code == 422
    errors = text_of(refused.text.split('id="rules-errors"')[1].split("</div>")[0])
    assert "Name" in errors and "Claim limit" in errors and "Follow-up deadline, days" in errors
    assert 'aria-invalid="true"' in refused.text
    bad_level = dict(data, name="Shanghai", claim_limit="3", followup_days="5", level_overrides="A: followup_days=30\nB followup_days=3")
    refused = client.post(f"/p/pools/item_pools/{pool['id']}/rules", data=bad_level)
    assert refused.status_code == 422 and "Line 2: write the level, a colon, then rule=number pairs." in refused.text
    unknown = dict(bad_level, level_overrides="A: speed=3")
    assert "Line 1: speed is not one of" in client.post(f"/p/pools/item_pools/{pool['id']}/rules", data=unknown).text
    stored = site.records.get(SYSTEM, "item_pools", pool["id"])
    assert (stored["name"], stored["claim_limit"], stored["followup_days"], stored["level_overrides"]) == ("Shanghai", 5, 7, {})


def test_the_rules_form_reads_in_chinese(site, people, pool, browse):
    client, token = browse(people["admin"])
    client.cookies.set("crm_locale", "zh_CN")
    form = client.get(f"/p/pools/item_pools/{pool['id']}/rules")
    shown = text_of(form.text)
    assert "持有上限" in shown and "跟进期限（天）" in shown and "领取前隐藏的字段" in shown


def test_my_holdings_show_days_left_and_the_deadline_that_applies(site, people, pool, browse, clock):
    items = make_items(site, pool["id"], 3, level=None)
    site.records.update(SYSTEM, "item_pools", pool["id"], {"level_overrides": {"A": {"followup_days": 3}}, "close_days": 4})
    site.records.update(SYSTEM, "items", items[2]["id"], {"level": "A"})
    for item in items:
        claim(site, people["rep"], "items", item["id"])
    clock.advance(timedelta(days=2, hours=1))
    site.records.update(people["rep"], "items", items[1]["id"], {"last_activity_at": clock.now()})
    client, _ = browse(people["rep"])
    page = client.get("/p/pools/holdings")
    assert page.status_code == 200
    rows = {name: text_of(row) for row in page.text.split("<tr>")[2:] for name in [f"item {i}" for i in range(3)] if f">{name}<" in row}
    assert "1 day" in rows["item 0"] and "Close deadline" in rows["item 0"]  # close in 4 days comes before follow-up in 7
    assert "1 day" in rows["item 1"] and "Close deadline" in rows["item 1"]
    assert "Last day" in rows["item 2"] and "Follow-up deadline" in rows["item 2"] and "(set for its level)" in rows["item 2"]  # level A: 3 days
    order = [n for n in ("item 2", "item 0", "item 1") if True]
    assert [page.text.index(f">{n}<") for n in order] == sorted(page.text.index(f">{n}<") for n in order)  # soonest return first
    other, _ = browse(people["rep2"])
    assert "You hold nothing from a pool." in other.get("/p/pools/holdings").text


def test_the_ownership_history_says_who_from_to_why_and_which_rule(site, people, pool, browse, clock):
    item = make_items(site, pool["id"], 1)[0]
    claim(site, people["rep"], "items", item["id"])
    clock.advance(timedelta(days=8))
    fire_due_timers(site)
    clock.advance(timedelta(hours=1))
    assign(site, people["manager"], "items", [item["id"]], people["rep2"].user_id, reason="fresh eyes")
    client, _ = browse(people["rep2"])
    page = client.get(f"/p/pools/history/items/{item['id']}")
    assert page.status_code == 200
    rows = [text_of(r) for r in page.text.split("<tbody>")[1].split("</tbody>")[0].split("<tr>")[1:]]
    assert len(rows) == 3
    assert "Assigned" in rows[0] and "Rep2" in rows[0] and "Manager" in rows[0] and "fresh eyes" in rows[0]
    assert "Returned to the pool" in rows[1] and "Rep" in rows[1] and "not followed up in time" in rows[1] and "Follow-up deadline" in rows[1]
    assert "Claimed" in rows[2] and "Shanghai" in rows[2]
    assert "Why you own it: Assigned" in text_of(page.text)
    activity = client.get(f"/r/items/{item['id']}/activity")
    assert activity.status_code == 200 and "Shanghai · Rep → —" in text_of(activity.text).replace("  ", " ")
    outsider, _ = browse(people["outsider"])
    assert outsider.get(f"/p/pools/history/items/{item['id']}").status_code == 404
