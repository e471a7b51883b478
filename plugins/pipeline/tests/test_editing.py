"""Editing a pipeline keeps existing opportunities valid: renaming and reordering change no record,
removing a stage in use asks where its opportunities go and moves them (a state event each), a kind
change carries the outcome along; only admins edit; the editor's pages work."""

from __future__ import annotations

import pytest

from kernel import Conflict, Forbidden, ValidationError, state_events
from kernel.testing import page_clients, text_of

from plugins.pipeline import stages_of

from .conftest import make_customer, make_opportunity
from ..stageedit import add_stage, change_stage, remove_stage, reorder_stages


@pytest.fixture
def deals(site, people):
    rep = people["rep"]
    customer = make_customer(site, rep)
    made = [make_opportunity(site, rep, customer, name=f"单{i}") for i in range(3)]
    for deal in made[:2]:
        site.records.act(rep, "opportunities", deal["id"], "move", {"stage": "needs"})
    return made


def keys(site, pipeline_id):
    with site.engine.connect() as conn:
        return [s.key for s in stages_of(site, conn, pipeline_id)]


def test_rename_and_reorder_leave_every_opportunity_as_it_is(site, people, deals):
    admin, pipeline_id = people["admin"], deals[0]["pipeline_id"]
    before = {d["id"]: site.records.get(admin, "opportunities", d["id"]) for d in deals}
    change_stage(site, admin, pipeline_id, "needs", {"label": {"en": "Qualified", "zh_CN": "已确认需求"}, "probability": 30, "rotting_days": 5})
    order = keys(site, pipeline_id)
    order[0], order[1] = order[1], order[0]
    reorder_stages(site, admin, pipeline_id, order)
    assert keys(site, pipeline_id)[:2] == ["needs", "inquiry"]
    after = {d["id"]: site.records.get(admin, "opportunities", d["id"]) for d in deals}
    assert {i: (r["stage"], r["outcome"]) for i, r in after.items()} == {i: (r["stage"], r["outcome"]) for i, r in before.items()}
    moved = site.records.act(people["rep"], "opportunities", deals[2]["id"], "move", {"stage": "needs"})
    assert moved["probability"] == 30  # the new default applies to later moves


def test_removing_a_stage_in_use_asks_where_its_opportunities_go_and_moves_them(site, people, deals):
    admin, pipeline_id = people["admin"], deals[0]["pipeline_id"]
    with pytest.raises(Conflict) as asked:
        remove_stage(site, admin, pipeline_id, "needs", None)
    assert asked.value.details[0]["count"] == 2 and asked.value.details[0]["loc"] == ["query", "move_to"]
    assert remove_stage(site, admin, pipeline_id, "needs", "evaluation") == 2
    assert "needs" not in keys(site, pipeline_id)
    for deal in deals[:2]:
        record = site.records.get(admin, "opportunities", deal["id"])
        assert (record["stage"], record["outcome"]) == ("evaluation", "open")
        with site.engine.connect() as conn:
            assert state_events(conn, "opportunities", deal["id"])[-1]["to_state"] == "evaluation"
    into_lost = remove_stage(site, admin, pipeline_id, "inquiry", "lost")  # a terminal destination sets the outcome
    assert into_lost == 1 and site.records.get(admin, "opportunities", deals[2]["id"])["outcome"] == "lost"


def test_a_new_stage_and_a_kind_change(site, people, deals):
    admin, pipeline_id = people["admin"], deals[0]["pipeline_id"]
    add_stage(site, admin, pipeline_id, {"key": "trial", "label": {"en": "Trial", "zh_CN": "试用"}, "kind": "open", "probability": 50,
                                         "position": 3, "feedback": [{"name": "trial_users", "label": {"en": "Users", "zh_CN": "试用人数"},
                                                                      "type": "number", "required": True}]})
    assert keys(site, pipeline_id)[3] == "trial"
    refused = None
    try:
        site.records.act(people["rep"], "opportunities", deals[0]["id"], "move", {"stage": "trial"})
    except ValidationError as exc:
        refused = exc
    assert refused is not None and refused.details[0]["loc"] == ["feedback", "trial_users"]
    moved = site.records.act(people["rep"], "opportunities", deals[0]["id"], "move", {"stage": "trial", "feedback": {"trial_users": "12"}})
    assert moved["stage_feedback"] == {"trial_users": "12"} and moved["probability"] == 50
    change_stage(site, admin, pipeline_id, "trial", {"kind": "won"})
    assert site.records.get(admin, "opportunities", deals[0]["id"])["outcome"] == "won"
    with pytest.raises(ValidationError):
        add_stage(site, admin, pipeline_id, {"key": "bad", "label": {"en": "B", "zh_CN": "B"}, "feedback": [{"name": "x"}]})
    with pytest.raises(Forbidden):
        change_stage(site, people["rep"], pipeline_id, "trial", {"probability": 1})


def test_the_editor_pages(site, people, deals):
    sign_in = page_clients(site)
    client, token = sign_in(people["admin"])
    pipeline_id = deals[0]["pipeline_id"]
    page = text_of(client.get(f"/p/pipeline/pipelines/{pipeline_id}").text)
    assert "咨询" in page and "需求确认" in page
    refused = client.post(f"/p/pipeline/pipelines/{pipeline_id}", data={"csrf_token": token, "op": "remove", "stage": "needs"})
    assert refused.status_code == 409 and "move_to" in refused.text
    done = client.post(f"/p/pipeline/pipelines/{pipeline_id}", data={"csrf_token": token, "op": "remove", "stage": "needs", "move_to": "quote"})
    assert done.status_code == 200 and 'id="stage-done"' in done.text
    renamed = client.post(f"/p/pipeline/pipelines/{pipeline_id}", data={"csrf_token": token, "op": "change", "stage": "quote",
                                                                        "label_en": "Offer", "label_zh_CN": "报价单", "kind": "open",
                                                                        "probability": "45", "rotting_days": "", "requires": "amount",
                                                                        "feedback": "[]"})
    assert renamed.status_code == 303
    assert "报价单" in text_of(client.get(f"/p/pipeline/pipelines/{pipeline_id}").text)
    new = client.post("/p/pipeline/pipelines", data={"csrf_token": token, "name": "渠道销售", "currency": "CNY"})
    assert new.status_code == 303 and "/p/pipeline/pipelines/" in new.headers["location"]
    rep_client, _ = sign_in(people["rep"])
    assert rep_client.get(f"/p/pipeline/pipelines/{pipeline_id}").status_code == 403


def test_the_kernels_states_pages_name_each_pipeline_not_its_id(site, people, deals):
    client, _ = page_clients(site)(people["admin"])
    pipeline_id = deals[0]["pipeline_id"]
    pipeline = site.records.get(people["admin"], "pipelines", pipeline_id)
    index = text_of(client.get("/admin/states").text)
    assert f"{pipeline['name']}" in index and f"pipeline_id = {pipeline_id}" not in index
    page = text_of(client.get(f"/admin/states/opportunities?set={pipeline_id}").text)
    assert pipeline["name"] in page and "pipeline_id =" not in page
