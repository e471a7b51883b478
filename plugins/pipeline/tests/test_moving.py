"""Moving opportunities: the fields and feedback a move needs are named, terminal stages set the
outcome, every move is a state event, amounts stay Decimal, other plugins hear of outcomes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kernel import state_events

from .conftest import make_customer, make_opportunity


@pytest.fixture
def deal(site, people):
    return make_opportunity(site, people["rep"], make_customer(site, people["rep"]))


def move(http, actor, deal_id, stage, **body):
    return http(actor).post(f"/api/v1/opportunities/{deal_id}/move", json={"stage": stage, **body})


def test_entering_quote_asks_for_the_amount_and_leaving_it_needs_one(site, people, http, deal):
    rep = people["rep"]
    refused = move(http, rep, deal["id"], "quote")
    assert refused.status_code == 422
    assert [d["loc"] for d in refused.json()["error"]["details"]] == [["amount"]]
    assert "quote" in refused.json()["error"]["details"][0]["msg"]
    moved = move(http, rep, deal["id"], "quote", values={"amount": "88000.10"}, feedback={"quote_note": "含安装"})
    assert moved.status_code == 200, moved.text
    body = moved.json()
    assert body["stage"] == "quote" and body["amount"] == "88000.10" and body["probability"] == 40
    assert body["stage_feedback"] == {"quote_note": "含安装"}
    cleared = http(rep).patch(f"/api/v1/opportunities/{deal['id']}", json={"amount": None})
    assert cleared.status_code == 200
    leave = move(http, rep, deal["id"], "evaluation")
    assert leave.status_code == 422
    assert leave.json()["error"]["details"][0] == {"loc": ["amount"], "msg": "required to leave 'quote'"}


def test_a_refusal_names_every_missing_field_and_question_at_once(site, people, http, deal):
    refused = move(http, people["rep"], deal["id"], "invalid")
    assert refused.status_code == 422
    details = refused.json()["error"]["details"]
    assert [d["loc"] for d in details] == [["feedback", "reason"]]
    assert details[0]["input"]["type"] == "text" and details[0]["input"]["label"]["zh_CN"] == "无效原因"
    wrong = move(http, people["rep"], deal["id"], "invalid", feedback={"nonsense": "x"})
    assert wrong.status_code == 422 and wrong.json()["error"]["details"][0]["loc"] == ["feedback", "nonsense"]


def test_terminal_stages_set_the_outcome_and_going_back_reopens(site, people, http, deal):
    rep = people["rep"]
    lost = move(http, rep, deal["id"], "lost")
    assert lost.status_code == 422 and lost.json()["error"]["details"][0]["loc"] == ["lost_reason"]
    lost = move(http, rep, deal["id"], "lost", values={"lost_reason": "price"})
    assert lost.status_code == 200, lost.text
    assert (lost.json()["outcome"], lost.json()["probability"]) == ("lost", 0)
    assert lost.json()["closed_at"] is not None and lost.json()["won_at"] is None
    back = move(http, rep, deal["id"], "needs")
    assert (back.json()["outcome"], back.json()["closed_at"], back.json()["probability"]) == ("open", None, 25)
    won = move(http, rep, deal["id"], "won")
    assert (won.json()["outcome"], won.json()["probability"]) == ("won", 100) and won.json()["won_at"] is not None
    invalid = move(http, rep, deal["id"], "invalid", feedback={"reason": "重复商机"})
    assert invalid.json()["outcome"] == "invalid"
    assert invalid.json()["stage_feedback"] == {"reason": "重复商机"}


def test_the_outcome_cannot_be_edited_directly(people, http, deal):
    answer = http(people["rep"]).patch(f"/api/v1/opportunities/{deal['id']}", json={"outcome": "won"})
    assert answer.status_code == 422 and answer.json()["error"]["details"][0]["loc"] == ["outcome"]


def test_every_move_is_a_state_event_with_the_time_in_the_previous_stage_and_the_amount(site, people, http, deal, clock):
    rep = people["rep"]
    clock.advance(hours=5)
    assert move(http, rep, deal["id"], "needs", values={"amount": "1000.00"}).status_code == 200
    clock.advance(days=2)
    assert move(http, rep, deal["id"], "quote", feedback={"quote_note": "首次报价"}).status_code == 200
    with site.engine.connect() as conn:
        events = state_events(conn, "opportunities", deal["id"])
    assert [(e["from_state"], e["to_state"]) for e in events] == [(None, "inquiry"), ("inquiry", "needs"), ("needs", "quote")]
    assert [e["seconds"] for e in events] == [None, 5 * 3600, 2 * 86400]
    assert events[1]["snapshot"]["amount"] == "1000.00"
    assert events[2]["snapshot"]["stage_feedback"] == {"quote_note": "首次报价"}
    assert events[2]["set_key"] == str(deal["pipeline_id"])


def test_amounts_are_decimals_and_floats_are_refused(site, people, http, deal):
    record = site.records.get(people["rep"], "opportunities", deal["id"])
    assert record["amount"] is None
    stored = site.records.update(people["rep"], "opportunities", deal["id"], {"amount": "12345678.91"})
    assert stored["amount"] == Decimal("12345678.91") and isinstance(stored["amount"], Decimal)
    too_fine = http(people["rep"]).patch(f"/api/v1/opportunities/{deal['id']}", json={"amount": "1.001"})
    assert too_fine.status_code == 422 and too_fine.json()["error"]["details"][0]["loc"][0] == "amount"


def test_unknown_stage_and_same_stage_are_refused(people, http, deal):
    unknown = move(http, people["rep"], deal["id"], "nowhere")
    assert unknown.status_code == 422 and "inquiry" in unknown.json()["error"]["details"][0]["msg"]
    same = move(http, people["rep"], deal["id"], "inquiry")
    assert same.status_code == 409


def test_a_move_the_stage_does_not_allow_is_a_409(site, people, http, deal):
    site.states.change(people["admin"], "opportunities", deal["pipeline_id"], "inquiry", {"to": ["needs", "invalid"]})
    refused = move(http, people["rep"], deal["id"], "won")
    assert refused.status_code == 409
    assert refused.json()["error"]["details"][0]["allowed"] == ["needs", "invalid"]


def test_another_reps_deal_is_not_found(people, http, deal):
    assert move(http, people["outsider"], deal["id"], "needs").status_code == 404
