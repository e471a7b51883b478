"""The pages as a sales rep in English and Chinese: the board (columns by stage with counts, totals and
rotting cards marked; a drop that needs fields asks for them), rotting deals, the move page; the admins'
pipeline editor keeps existing opportunities valid."""

from __future__ import annotations

import re
from html import unescape

import pytest

from kernel.testing import api_clients, list_notifications, page_clients, run_due_jobs, text_of

from .conftest import make_customer, make_opportunity


@pytest.fixture
def deals(site, people):
    rep = people["rep"]
    customer = make_customer(site, rep)
    first = make_opportunity(site, rep, customer, name="第一单", amount="1000.00")
    second = make_opportunity(site, rep, customer, name="第二单", amount="250.50")
    site.records.act(rep, "opportunities", second["id"], "move", {"stage": "needs"})
    make_opportunity(site, people["rep2"], make_customer(site, people["rep2"], "别人的客户"), name="同事的单", amount="999.00")
    return first, second


def lane(page: str, stage: str) -> str:
    start = page.index(f'data-lane="{stage}"')
    end = page.find('<section class="lane"', start)
    return page[start:end if end > 0 else None]


@pytest.mark.parametrize("locale, words", [("zh_CN", ("商机看板", "咨询", "需求确认", "报价")), ("en", ("Opportunity board", "Inquiry", "Needs confirmed", "Quotation"))])
def test_the_board_shows_a_column_per_stage_with_the_readers_counts_and_totals(site, people, deals, locale, words):
    client, _ = page_clients(site)(people["rep"])
    client.cookies.set("crm_locale", locale)
    page = unescape(client.get("/p/pipeline/board").text)
    for word in words:
        assert word in page
    inquiry = lane(page, "inquiry")
    assert "第一单" in inquiry and "同事的单" not in page  # record rules: only the rep's deals
    assert re.search(r"data-lane-count>1<", inquiry) and re.search(r"data-lane-total>[^<]*1,000\.00<", inquiry)
    assert re.search(r"data-lane-total>[^<]*250\.50<", lane(page, "needs"))


def test_a_drop_that_needs_fields_answers_what_to_ask_and_the_answers_move_it(site, people, deals):
    client, token = page_clients(site)(people["rep"])
    first, _ = deals
    site.records.update(people["rep"], "opportunities", first["id"], {"amount": None})
    post = {"csrf_token": token, "id": str(first["id"]), "stage": "quote"}
    refused = client.post("/p/pipeline/board", data=post, headers={"Accept": "application/json"})
    assert refused.status_code == 422
    assert [(a["name"], a["widget"]) for a in refused.json()["ask"]] == [("amount", "money")]
    moved = client.post("/p/pipeline/board", data={**post, "amount": "5000.00"}, headers={"Accept": "application/json"})
    assert moved.status_code == 200, moved.text
    assert moved.json()["value"] == "quote" and moved.json()["totals"]["quote"].endswith("5,000.00")
    lost = client.post("/p/pipeline/board", data={**post, "stage": "invalid"}, headers={"Accept": "application/json"})
    assert lost.status_code == 422 and lost.json()["ask"][0]["name"] == "feedback.reason"
    done = client.post("/p/pipeline/board", data={**post, "stage": "invalid", "feedback.reason": "重复"}, headers={"Accept": "application/json"})
    assert done.status_code == 200
    assert site.records.get(people["rep"], "opportunities", first["id"])["outcome"] == "invalid"


def test_rotting_deals_are_flagged_listed_and_their_owners_reminded(site, people, deals, clock):
    first, second = deals
    clock.advance(days=15)  # inquiry and needs rot after 14 days without activity
    site.records.create(people["rep"], "followups", {"entity": "opportunities", "record_id": second["id"], "method": "call", "content": "跟进"})
    client, _ = page_clients(site)(people["rep"])
    board = unescape(client.get("/p/pipeline/board").text)
    card = board[board.index(f'data-id="{first["id"]}"'):]
    assert card.split("</article>")[0].count("data-rotting") >= 1
    other = board[board.index(f'data-id="{second["id"]}"'):]
    assert "data-rotting" not in other.split("</article>")[0]  # the follow-up was activity
    listed = text_of(client.get("/p/pipeline/rotting").text)
    assert "第一单" in listed and "第二单" not in listed
    chose = api_clients(site)(people["rep2"]).request("PUT", "/api/v1/auth/preferences", json={"locale": "en"})
    assert chose.status_code == 200  # the site reads Chinese; rep2 chose English
    run_due_jobs(site)
    titles = [n["title"] for n in list_notifications(site, people["rep"].user_id)["items"]]
    assert "1 个商机停滞" in titles and not any("rotting" in t for t in titles)
    assert "Rotting opportunities: 1" in [n["title"] for n in list_notifications(site, people["rep2"].user_id)["items"]]


def test_the_move_page_asks_what_the_stage_needs(site, people, deals):
    client, token = page_clients(site)(people["rep"])
    first, _ = deals
    asked = client.post(f"/p/pipeline/move/{first['id']}", data={"csrf_token": token, "stage": "lost"})
    assert asked.status_code == 422 and 'name="lost_reason"' in asked.text
    moved = client.post(f"/p/pipeline/move/{first['id']}", data={"csrf_token": token, "stage": "lost", "lost_reason": "price"})
    assert moved.status_code == 303
    assert site.records.get(people["rep"], "opportunities", first["id"])["outcome"] == "lost"


@pytest.mark.parametrize("locale, inquiry, needs", [("zh_CN", "咨询", "需求确认"), ("en", "Inquiry", "Needs confirmed")])
def test_lists_and_the_record_page_name_each_stage_by_its_label(site, people, deals, locale, inquiry, needs):
    client, _ = page_clients(site)(people["rep"])
    client.cookies.set("crm_locale", locale)
    first, second = deals
    listed = unescape(client.get("/r/opportunities").text)
    cells = [c.strip() for c in re.findall(r'class="cell-text"[^>]*>([^<]+)<', listed)]
    assert inquiry in cells and needs in cells and "inquiry" not in cells and "needs" not in cells
    assert needs in unescape(client.get(f"/r/opportunities/{second['id']}").text)
