"""Field masking over HTTP: the API's JSON, ``/access``, and the pages (list, detail, history, activity,
edit form, related card, export, duplicate warning) never show a masked phone."""

from __future__ import annotations

import html
import re

import pytest
from starlette.testclient import TestClient

from kernel import Actor
from kernel.web.app import create_app
from kernel.web.auth import issue_token
from tests.masktest import PHONE, masked_site
from tests.web.test_ui import add_user, signed_in

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
SYSTEM = Actor.system("cli")
CONTACT_PHONE = "13711112222"


@pytest.fixture
def site(make_site):
    return masked_site(make_site)


@pytest.fixture
def app(site):
    return create_app(site=site)


@pytest.fixture
def world(site):
    ann = add_user(site, "ann@example.com", "member")
    bob = add_user(site, "bob@example.com", "member")
    add_user(site, "admin@example.com", "admin")
    as_ann = Actor(user_id=ann["id"], label="ann", role="member")
    locked = site.records.create(as_ann, "masktest_people", {
        "name": "Locked Li", "phone": PHONE, "score": 90, "region": "east", "locked": True, "custom": {"wechat": "li_wx"},
    })
    site.records.update(as_ann, "masktest_people", locked["id"], {"phone": PHONE[:-1] + "9"})
    site.records.update(as_ann, "masktest_people", locked["id"], {"phone": PHONE})
    open_ = site.records.create(as_ann, "masktest_people", {"name": "Open Wang", "phone": "13900000000", "region": "east"})
    site.records.create(SYSTEM, "masktest_contacts", {"person_id": locked["id"], "name": "Li's assistant", "phone": CONTACT_PHONE})
    return {"ann": ann, "bob": bob, "locked": locked, "open": open_}


def api(app, site, user) -> TestClient:
    client = TestClient(app)
    client.headers["Authorization"] = f"Bearer {issue_token(site, user['id'])['token']}"
    return client


def secrets_in(text: str) -> list[str]:
    return [s for s in (PHONE, PHONE[:-1] + "9", "li_wx", CONTACT_PHONE, "90") if re.search(rf"\b{s}\b", text)]


# -- the API ------------------------------------------------------------------------------------


def test_api_get_and_list_return_null_and_name_the_masked_fields(app, site, world):
    bob = api(app, site, world["bob"])
    got = bob.get(f"/api/v1/masktest_people/{world['locked']['id']}")
    assert got.status_code == 200
    body = got.json()
    assert body["phone"] is None and body["custom"]["wechat"] is None and body["_masked"] == ["phone", "score", "wechat"]
    listed = bob.get("/api/v1/masktest_people").json()["items"]
    assert next(r for r in listed if r["id"] == world["locked"]["id"])["_masked"] == ["phone", "score", "wechat"]
    assert secrets_in(got.text + bob.get("/api/v1/masktest_people").text) == []
    ann = api(app, site, world["ann"])
    assert ann.get(f"/api/v1/masktest_people/{world['locked']['id']}").json()["phone"] == PHONE


def test_api_q_filters_sort_history_and_aggregates_learn_nothing(app, site, world):
    bob, locked = api(app, site, world["bob"]), world["locked"]["id"]
    for query in (f"q={PHONE}", "q=li_wx", f"phone={PHONE}", "phone__gte=13800138000&phone__lte=13800138000", "wechat=li_wx", "score__gte=90"):
        page = bob.get(f"/api/v1/masktest_people?{query}").json()
        assert locked not in [r["id"] for r in page["items"]], query
    by_phone = bob.get("/api/v1/masktest_people?sort=phone").json()["items"]
    assert [r["phone"] for r in by_phone if r["id"] != locked] == ["13900000000"]
    history = bob.get(f"/api/v1/masktest_people/{locked}/history")
    assert history.status_code == 200 and secrets_in(history.text) == []
    activity = bob.get(f"/api/v1/masktest_people/{locked}/activity")
    assert activity.status_code == 200 and secrets_in(activity.text) == []
    grouped = bob.get("/api/v1/masktest_people/aggregate?group_by=phone&measure=count,max:score")
    assert grouped.status_code == 200 and secrets_in(grouped.text) == []
    assert any(g.get("masked") for g in grouped.json()["groups"])


def test_api_patch_of_a_masked_field_is_refused_naming_it(app, site, world):
    bob, locked = api(app, site, world["bob"]), world["locked"]["id"]
    refused = bob.patch(f"/api/v1/masktest_people/{locked}", json={"phone": "1"})
    assert refused.status_code == 403
    assert refused.json()["error"]["details"][0]["loc"] == ["phone"]
    etag = bob.get(f"/api/v1/masktest_people/{locked}").headers["ETag"]
    renamed = bob.patch(f"/api/v1/masktest_people/{locked}", json={"name": "Li Renamed"}, headers={"If-Match": etag})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["phone"] is None and secrets_in(renamed.text) == []
    assert site.records.get(SYSTEM, "masktest_people", locked)["phone"] == PHONE


def test_api_duplicate_warning_counts_the_masked_lookalike(app, site, world):
    bob = api(app, site, world["bob"])
    made = bob.post("/api/v1/masktest_people", json={"name": "Typed", "phone": PHONE})
    assert made.status_code == 201 and made.json()["warnings"] == [{"code": "duplicate", "ids": [], "hidden": 1}]


def test_access_explains_the_masks(app, site, world):
    admin = api(app, site, {"id": site.records.list(SYSTEM, "users", filters={"email": "admin@example.com"}).items[0]["id"]})
    answer = admin.get(f"/api/v1/masktest_people/{world['locked']['id']}/access?user_id={world['bob']['id']}").json()
    assert answer["masks"] == [{"plugin": "masktest", "fields": ["phone", "score", "wechat"], "masked": True, "reason": "locked person", "through": None, "detail": None}]
    mine = admin.get(f"/api/v1/masktest_people/{world['locked']['id']}/access?user_id={world['ann']['id']}").json()
    assert mine["masks"][0]["masked"] is False


# -- the pages ------------------------------------------------------------------------------------


@pytest.fixture
def bob_page(app, world):
    client, token = signed_in(app, "bob@example.com")
    return client, token


def test_pages_show_a_lock_and_never_the_value(bob_page, world, site):
    client, _ = bob_page
    locked = world["locked"]["id"]
    for path in (
        "/r/masktest_people", "/r/masktest_people?sort=phone", f"/r/masktest_people/{locked}", f"/r/masktest_people/{locked}?tab=history",
        f"/r/masktest_people/{locked}/history", f"/r/masktest_people/{locked}/activity", f"/r/masktest_contacts?f.person_id={locked}",
        f"/r/masktest_people/{locked}/edit",
    ):
        page = client.get(path)
        assert page.status_code == 200, path
        assert secrets_in(page.text) == [], path
    for path in (f"/r/masktest_people?q={PHONE}", f"/r/masktest_people?f.phone={PHONE}", "/r/masktest_people?q=li_wx", f"/search?q={PHONE}"):
        page = client.get(path)  # what was typed is echoed in the search box: the record must not be listed
        assert page.status_code == 200 and f'/r/masktest_people/{locked}"' not in page.text and "Locked Li" not in page.text, path
    detail = client.get(f"/r/masktest_people/{locked}").text
    assert 'class="masked"' in detail and "Hidden" in detail
    assert 'class="masked"' in client.get("/r/masktest_people").text
    assert 'class="masked"' in client.get(f"/r/masktest_people/{locked}/history").text


def test_the_lock_speaks_chinese(bob_page, world):
    client, token = bob_page
    client.post("/lang", data={"to": "zh_CN", "next": "/", "csrf_token": token})
    page = client.get(f"/r/masktest_people/{world['locked']['id']}").text
    assert "隐藏" in page and "已对您隐藏" in page and secrets_in(page) == []


def test_the_edit_form_leaves_masked_fields_out_and_saves_the_rest(bob_page, world, site):
    client, token = bob_page
    locked = world["locked"]["id"]
    form = client.get(f"/r/masktest_people/{locked}/edit").text
    assert 'name="phone"' not in form and 'name="custom.wechat"' not in form and 'name="name"' in form
    version = re.search(r'name="_version" value="([^"]+)"', form)
    data = {"csrf_token": token, "name": "Renamed by Bob", "region": "east"}
    if version:
        data["_version"] = html.unescape(version.group(1))
    saved = client.post(f"/r/masktest_people/{locked}/edit", data=data)
    assert saved.status_code == 303, saved.text[:2000]
    stored = site.records.get(SYSTEM, "masktest_people", locked)
    assert stored["name"] == "Renamed by Bob" and stored["phone"] == PHONE and stored["custom"]["wechat"] == "li_wx"


def test_an_export_from_the_list_page_hides_the_values(bob_page, world):
    client, token = bob_page
    for fmt in ("csv", "xlsx"):
        response = client.post("/r/masktest_people/export", data={"csrf_token": token, "format": fmt})
        assert response.status_code == 200
        if fmt == "csv":
            assert "Locked Li" in response.text and secrets_in(response.text) == []
        else:
            import io

            import openpyxl

            sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
            cells = " ".join(str(c.value) for row in sheet.iter_rows() for c in row if c.value is not None)
            assert "Locked Li" in cells and secrets_in(cells) == []


def test_the_form_duplicate_warning_does_not_name_a_masked_record(bob_page, world):
    client, token = bob_page
    made = client.post("/r/masktest_people/new", data={"csrf_token": token, "name": "Typed", "phone": PHONE})
    assert made.status_code == 303
    location = made.headers["location"]
    assert "hidden=1" in location and "duplicates=" not in location
    page = client.get(location).text
    assert f"/r/masktest_people/{world['locked']['id']}\"" not in page


def test_openapi_says_masked_fields_may_be_null(app, site, world):
    document = api(app, site, world["bob"]).get("/api/v1/openapi.json").json()
    schemas = document["components"]["schemas"]
    person = next(s for k, s in schemas.items() if k.startswith("masktest_people") and "_masked" in s.get("properties", {}))
    assert "null" in person["properties"]["phone"]["type"]
    assert not any("_masked" in s.get("properties", {}) for k, s in schemas.items() if k.startswith("users"))


def test_an_action_with_if_match_answers_masked_and_a_conflict_shows_the_masked_record(app, site, world):
    role = site.records.list(SYSTEM, "roles", filters={"name": "member"}).items[0]
    site.records.update(SYSTEM, "roles", role["id"], {"permissions": [*role["permissions"], "masktest_people.assign"]})
    bob, locked = api(app, site, world["bob"]), world["locked"]["id"]
    stale = bob.post(f"/api/v1/masktest_people/{locked}/assign", json={"owner_id": world["bob"]["id"]}, headers={"If-Match": '"0000"'})
    assert stale.status_code == 409 and stale.json()["record"]["phone"] is None and secrets_in(stale.text) == []
    etag = bob.get(f"/api/v1/masktest_people/{locked}").headers["ETag"]
    given = bob.post(f"/api/v1/masktest_people/{locked}/assign", json={"owner_id": world["ann"]["id"]}, headers={"If-Match": etag})
    assert given.status_code == 200, given.text
    assert secrets_in(given.text) == []
    taken = bob.post(f"/api/v1/masktest_people/{locked}/assign", json={"owner_id": world["bob"]["id"]})
    assert taken.status_code == 200 and PHONE in taken.text  # now bob's: nothing is masked for its owner
