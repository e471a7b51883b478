"""A pipeline's stages over the API: read by those who see the pipeline, added, changed, reordered and
removed by admins (the editor page's twin), with refusals that name the field; a removal moves the
stage's opportunities where the caller says."""

from __future__ import annotations

from kernel.testing import api_clients

from .conftest import make_customer, make_opportunity

URL = "/api/v1/plugins/pipeline/pipelines/{}/stages"


def test_stages_are_read_added_changed_reordered_and_removed(site, people):
    rep, clients = people["rep"], api_clients(site)
    deal = make_opportunity(site, rep, make_customer(site, rep), name="第一单", amount="1000.00")
    url = URL.format(deal["pipeline_id"])
    admin = clients(people["admin"])
    listed = clients(rep).get(url)
    assert listed.status_code == 200, listed.text
    keys = [s["key"] for s in listed.json()["items"]]
    assert keys[:2] == ["inquiry", "needs"] and listed.json()["items"][0]["kind"] == "open"

    assert clients(rep).post(url, json={"key": "trial", "label": {"en": "Trial", "zh_CN": "试用"}}).status_code == 403
    added = admin.post(url, json={"key": "trial", "label": {"en": "Trial", "zh_CN": "试用"}, "probability": 40, "rotting_days": 10})
    assert added.status_code == 201, added.text
    trial = next(s for s in added.json()["items"] if s["key"] == "trial")
    assert (trial["probability"], trial["rotting_days"], trial["label"]["zh_CN"]) == (40, 10, "试用")

    changed = admin.patch(f"{url}/trial", json={"probability": 55, "label": {"en": "Pilot", "zh_CN": "试点"}})
    assert changed.status_code == 200, changed.text
    assert next(s for s in changed.json()["items"] if s["key"] == "trial")["label"]["en"] == "Pilot"

    keys = [s["key"] for s in changed.json()["items"]]
    wanted = [keys[-1], *keys[:-1]]
    reordered = admin.put(f"{url}/order", json={"keys": wanted})
    assert reordered.status_code == 200 and [s["key"] for s in reordered.json()["items"]] == wanted

    refused = admin.delete(f"{url}/inquiry")  # 第一单 is in it: where should it go?
    assert refused.status_code == 409, refused.text
    removed = admin.delete(f"{url}/inquiry", params={"move_to": "trial"})
    assert removed.status_code == 200 and removed.json()["moved"] == 1
    assert "inquiry" not in [s["key"] for s in removed.json()["items"]]
    assert site.records.get(rep, "opportunities", deal["id"])["stage"] == "trial"


def test_bad_requests_name_the_field(site, people):
    rep = people["rep"]
    deal = make_opportunity(site, rep, make_customer(site, rep))
    url = URL.format(deal["pipeline_id"])
    admin = api_clients(site)(people["admin"])
    for body, where in [
        ({"key": "x", "label": {"en": "X", "zh_CN": "X"}, "probability": 140}, "probability"),
        ({"label": {"en": "X", "zh_CN": "X"}}, "key"),
        ({"key": "x", "label": {"en": "X", "zh_CN": "X"}, "colour": "red"}, "colour"),
    ]:
        answer = admin.post(url, json=body)
        assert answer.status_code == 422, answer.text
        assert where in answer.json()["error"]["details"][0]["loc"], answer.text
    assert admin.post(url, content=b"[1]", headers={"Content-Type": "application/json"}).json()["error"]["details"][0]["loc"] == ["body"]
    assert admin.put(f"{url}/order", json={"keys": "inquiry"}).status_code == 422
    assert admin.get(URL.format(999999)).status_code == 404
    assert api_clients(site)(people["rep"]).get(URL.format("abc")).status_code == 422
