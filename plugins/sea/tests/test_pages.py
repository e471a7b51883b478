"""The sea's pages: the release dialog with the reason list, the move-in page of sea admins, the pools'
generic sea list showing sea customers masked with Claim buttons, and the menu entries — in both languages."""

from __future__ import annotations

import pytest

from kernel.testing import browse, text_of  # noqa: F401 - fixture

from .conftest import SYSTEM, make_customers, make_sea

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_the_sea_list_shows_customers_masked_with_claim_buttons(site, people, browse):
    sea = make_sea(site, people)
    customer = make_customers(site, sea["id"], 1)[0]
    client, _ = browse(people["rep"])
    page = client.get(f"/p/pools/seas/{sea['id']}")
    assert page.status_code == 200, page.text
    assert customer["name"] in page.text and "6000" not in page.text
    assert f'name="id" value="{customer["id"]}"' in page.text
    home = client.get("/").text
    assert "/p/pools/holdings?entity=customers" in home and "/p/sea/move" not in home  # moving customers in is for who may change seas
    seas_only = client.get("/p/pools/?entity=customers").text  # the menu's 公海: the seas alone, under the sea's own name
    assert "<h1>公海</h1>" in seas_only and sea["name"] in seas_only and 'href="/p/pools/holdings?entity=customers"' in seas_only
    assert client.get(f"/p/pools/seas/{sea['id']}").status_code == 200
    outsider, _ = browse(people["outsider"])
    assert outsider.get(f"/p/pools/seas/{sea['id']}").status_code == 404


def test_release_dialog_lists_the_reasons_and_needs_one(site, people, browse):
    sea = make_sea(site, people, cooldown_days=2)
    customer = make_customers(site, sea["id"], 1)[0]
    client, token = browse(people["rep"])
    assert client.get(f"/p/pools/release/customers/{customer['id']}").status_code == 404  # not held yet
    from plugins.pools import claim

    claim(site, people["rep"], "customers", customer["id"])
    holdings = client.get("/p/pools/holdings").text
    assert f"/p/pools/release/customers/{customer['id']}?next=" in holdings  # each held record links to the dialog
    action = client.get(f"/r/customers/{customer['id']}/act/release")  # the record page's Release button leads there too
    assert action.status_code in (302, 303) and action.headers["location"].startswith(f"/p/pools/release/customers/{customer['id']}")
    page = client.get(f"/p/pools/release/customers/{customer['id']}")
    assert page.status_code == 200 and sea["name"] in page.text and "无意向" in page.text and "联系不上" in page.text and "非目标客户" in page.text
    empty = client.post(f"/p/pools/release/customers/{customer['id']}", data={"csrf_token": token, "reason": ""})
    assert empty.status_code == 422 and "release-error" in empty.text
    assert site.records.get(SYSTEM, "customers", customer["id"])["owner_id"] == people["rep"].user_id
    done = client.post(f"/p/pools/release/customers/{customer['id']}?next=/p/pools/holdings%3Freleased%3D1", data={"csrf_token": token, "reason": "unreachable"})
    assert done.status_code == 303 and site.records.get(SYSTEM, "customers", customer["id"])["owner_id"] is None
    assert done.headers["location"] == "/p/pools/holdings?released=1"
    assert "已释放" in client.get(done.headers["location"]).text
    offsite = client.get(f"/p/pools/release/customers/{customer['id']}?next=//evil.example")
    assert offsite.status_code == 404  # no longer held: nothing to release


def test_the_move_page_is_for_sea_admins_and_names_each_mistake(site, people, browse):
    sea = make_sea(site, people)
    rep = people["rep"]
    owned = [site.records.create(SYSTEM, "customers", {"name": f"老客户 {i}", "kind": "company", "owner_id": rep.user_id}) for i in range(3)]
    rep_client, _ = browse(people["rep"])
    assert "You administer no public sea" in text_of(rep_client.get("/p/sea/move").text) or "您没有管理任何公海" in rep_client.get("/p/sea/move").text
    client, token = browse(people["manager"])
    page = client.get(f"/p/sea/move?ids={owned[0]['id']}")
    assert page.status_code == 200 and "华东公海" in page.text
    assert client.post("/p/sea/move", data={"csrf_token": token, "sea_id": "", "ids": "1"}).status_code == 422
    assert client.post("/p/sea/move", data={"csrf_token": token, "sea_id": str(sea["id"]), "ids": "x"}).status_code == 422
    assert client.post("/p/sea/move", data={"csrf_token": token, "sea_id": str(sea["id"])}).status_code == 422
    ids = f"{owned[0]['id']},{owned[1]['id']}"
    moved = client.post("/p/sea/move", data={"csrf_token": token, "sea_id": str(sea["id"]), "ids": ids, "reason": "离职交接"})
    assert moved.status_code == 200 and 'id="moved"' in moved.text, moved.text
    assert [site.records.get(SYSTEM, "customers", c["id"])["owner_id"] for c in owned] == [None, None, rep.user_id]


def test_the_pools_reports_and_holdings_serve_the_sea(site, people, browse, clock):
    from plugins.pools import claim, release

    sea = make_sea(site, people, followup_days=15)
    first, second = make_customers(site, sea["id"], 2)
    claim(site, people["rep"], "customers", first["id"])
    claim(site, people["rep"], "customers", second["id"])
    release(site, people["rep"], "customers", second["id"], "no_interest")
    client, _ = browse(people["manager"])
    claims = client.get("/p/pools/reports?report=claims&entity=customers&by=pool&period=all")
    assert claims.status_code == 200 and "华东公海" in claims.text
    returns = text_of(client.get("/p/pools/reports?report=returns&entity=customers&by=member&period=all").text)
    assert "No interest" in returns or "无意向" in returns
    rep, _ = browse(people["rep"])
    holdings = text_of(rep.get("/p/pools/holdings").text)
    assert first["name"] in holdings and second["name"] not in holdings
    assert "15" in holdings or "14" in holdings  # days left before the follow-up deadline
