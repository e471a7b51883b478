"""The create and edit forms (issue 15): layout from metadata, references by name, limits, phones,
the duplicate check while typing. Observations 2 and 5 of the issue are reproduced here."""

from __future__ import annotations

import html
import re

import pytest

from kernel import ValidationError
from kernel.testing import add_custom_field, browse  # noqa: F401 - fixture

from .conftest import SYSTEM

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def site(make_site):
    return make_site(plugins=("customers",), default_locale="en")


def inputs(html: str) -> list[str]:
    """The names of the form's inputs, in page order (hidden ones included)."""
    return re.findall(r'<(?:input|select|textarea)[^>]*\bname="([^"]+)"', html)


# -- observation 2: system and derived fields are no inputs; name before phone ---------------------


def test_customer_form_offers_no_derived_or_plugin_less_fields(people, browse):
    client, _ = browse(people["rep"])
    names = inputs(client.get("/r/customers/new").text)
    for derived in ("sea_id", "last_followed_at", "churn_flag", "churn_reason", "churn_flagged_at"):
        assert derived not in names and f"{derived}.present" not in names
    assert names.index("name") < names.index("phone")


def test_task_form_offers_no_related_pair_or_stamps(browse, site, people):
    client, _ = browse(people["rep"])
    names = inputs(client.get("/r/tasks/new").text)
    for stamped in ("entity", "record_id", "reminded_at", "done_at"):
        assert stamped not in names
    assert {"title", "customer_id", "assignee_id", "due_at"} <= set(names)
    followup = inputs(client.get("/r/followups/new").text)
    assert "entity" not in followup and "record_id" not in followup


def test_detail_page_still_shows_derived_fields_but_not_the_missing_plugins(browse, site, people):
    customer = site.records.create(people["rep"], "customers", {"name": "ACME"})
    site.records.update(SYSTEM, "customers", customer["id"], {"churn_flag": True, "churn_reason": "no orders for 90 days"})
    client, _ = browse(people["rep"])
    page = client.get(f"/r/customers/{customer['id']}").text
    assert "no orders for 90 days" in page and "Churn risk" in page
    assert "Public sea" not in page


def test_a_related_card_new_link_carries_the_related_pair_without_an_input(browse, site, people):
    customer = site.records.create(people["rep"], "customers", {"name": "ACME"})
    contact = site.records.create(people["rep"], "contacts", {"customer_id": customer["id"], "name": "Li"})
    client, token = browse(people["rep"])
    address = f"/r/tasks/new?entity=contacts&record_id={contact['id']}"
    form = client.get(address).text
    assert 'type="hidden" name="entity" value="contacts"' in form and 'type="hidden" name="record_id"' in form
    saved = client.post(address, data={"csrf_token": token, "title": "Call back", "entity": "contacts", "record_id": str(contact["id"]),
                                       "priority": "normal", "status": "open"})
    assert saved.status_code == 303, saved.text
    task = site.records.list(SYSTEM, "tasks").items[0]
    assert (task["entity"], task["record_id"]) == ("contacts", contact["id"])


# -- references by name: shared users and teams are multi-pickers -----------------------------------


def test_shared_users_and_teams_are_picked_by_name(browse, site, people):
    customer = site.records.create(people["rep"], "customers", {"name": "ACME", "shared_user_ids": [people["rep2"].user_id]})
    client, token = browse(people["rep"])
    form = client.get(f"/r/customers/{customer['id']}/edit").text
    assert 'data-picker-multi="shared_user_ids"' in form and 'data-picker-multi="shared_team_ids"' in form
    assert "Rep2" in form  # the chosen user by name, not by number
    assert "Give record numbers" not in form
    found = client.get("/r/users/lookup", params={"q": "Manager", "for": "f-shared_user_ids"}).text
    assert f'data-picker-pick="{people["manager"].user_id}"' in found and "Manager" in found
    north = site.records.list(SYSTEM, "teams", q="North").items[0]["id"]
    posted = {"csrf_token": token, "name": "ACME", "kind": "company", "status": "potential",
              "shared_user_ids.present": "1", "shared_team_ids.present": "1", "_version": html.unescape(re.search(r'name="_version" value="([^"]+)"', form).group(1))}
    answer = client.post(f"/r/customers/{customer['id']}/edit", data={**posted, "shared_user_ids": [str(people["rep2"].user_id), str(people["manager"].user_id)],
                                                                      "shared_team_ids": [str(north)]})
    assert answer.status_code == 303, answer.text
    stored = site.records.get(SYSTEM, "customers", customer["id"])
    assert stored["shared_user_ids"] == [people["rep2"].user_id, people["manager"].user_id] and stored["shared_team_ids"] == [north]
    cleared = client.post(f"/r/customers/{customer['id']}/edit", data={**posted, "_version": ""})
    assert cleared.status_code == 303
    assert site.records.get(SYSTEM, "customers", customer["id"])["shared_user_ids"] == []


# -- limits --------------------------------------------------------------------------------------


def test_a_too_long_name_is_refused_naming_the_field_and_the_form_shows_the_limit(browse, site, people):
    with pytest.raises(ValidationError) as caught:
        site.records.create(people["rep"], "customers", {"name": "x" * 201})
    assert caught.value.details[0]["loc"][-1] == "name" and "200" in caught.value.details[0]["msg"]
    client, token = browse(people["rep"])
    form = client.get("/r/customers/new").text
    assert re.search(r'name="name"[^>]*maxlength="200"', form)
    refused = client.post("/r/customers/new", data={"csrf_token": token, "name": "x" * 201, "kind": "company", "status": "potential"})
    assert refused.status_code == 422 and "200" in refused.text


def add_field(site, name, schema, label="Field"):
    add_custom_field(site, SYSTEM, "customers", name, schema, label={"en": label, "zh_CN": label})


def test_custom_text_fields_get_a_default_limit_the_form_shows(site, people, browse):
    add_field(site, "nickname", {"type": "string"}, "Nickname")
    with pytest.raises(ValidationError) as caught:
        site.records.create(SYSTEM, "customers", {"name": "ACME", "custom": {"nickname": "y" * 501}})
    assert caught.value.details[0]["loc"] == ["custom", "nickname"] and "500" in caught.value.details[0]["msg"]
    client, _ = browse(people["rep"])
    assert re.search(r'name="custom.nickname"[^>]*maxlength="500"', client.get("/r/customers/new").text)


# -- observation 5: negative money is refused, with the field named ---------------------------------


def test_negative_money_is_refused_with_a_clear_error(site, people, http_for, browse):
    add_field(site, "budget", {"type": "number", "format": "money"}, "Budget")
    answer = http_for(site)(people["rep"]).post("/api/v1/customers", json={"name": "ACME", "custom": {"budget": "-5.00"}})
    assert answer.status_code == 422, answer.text
    detail = answer.json()["error"]["details"][0]
    assert detail["loc"][-2:] == ["custom", "budget"] and detail["msg"] == "must not be negative"
    assert site.records.list(SYSTEM, "customers").total == 0
    client, token = browse(people["rep"])
    form = client.get("/r/customers/new").text
    assert re.search(r'name="custom.budget"[^>]*min="0"', form)
    refused = client.post("/r/customers/new", data={"csrf_token": token, "name": "ACME", "kind": "company", "status": "potential", "custom.budget": "-5"})
    assert refused.status_code == 422 and "must not be negative" in refused.text
    assert site.records.create(SYSTEM, "customers", {"name": "Zero", "custom": {"budget": "0"}})["custom"] == {"budget": "0.00"}


def test_a_money_field_with_a_negative_minimum_takes_negative_amounts(site):
    add_field(site, "adjustment", {"type": "number", "format": "money", "x-currency": "USD", "minimum": -1000}, "Adjustment")
    saved = site.records.create(SYSTEM, "customers", {"name": "ACME", "custom": {"adjustment": "-12.5"}})
    assert saved["custom"]["adjustment"] == "-12.50"
    with pytest.raises(ValidationError) as caught:
        site.records.create(SYSTEM, "customers", {"name": "ACME", "custom": {"adjustment": "-1000.01"}})
    assert "at least -1000" in caught.value.details[0]["msg"]


def test_custom_fields_can_be_required_and_have_defaults_and_help(site, people, browse):
    add_field(site, "segment", {"type": "string", "enum": ["smb", "enterprise"], "default": "smb", "description": "Who buys"}, "Segment")
    add_field(site, "contract_no", {"type": "string", "maxLength": 30, "x-required": True}, "Contract number")
    with pytest.raises(ValidationError) as caught:
        site.records.create(SYSTEM, "customers", {"name": "ACME"})
    assert caught.value.details == [{"loc": ["custom", "contract_no"], "msg": "is required"}]
    saved = site.records.create(SYSTEM, "customers", {"name": "ACME", "custom": {"contract_no": "C-1"}})
    assert saved["custom"] == {"contract_no": "C-1", "segment": "smb"}
    with pytest.raises(ValidationError):
        site.records.update(SYSTEM, "customers", saved["id"], {"custom": {"contract_no": None}})
    client, _ = browse(people["rep"])
    form = client.get("/r/customers/new").text
    assert "Who buys" in form and re.search(r'name="custom.contract_no"[^>]*required', form)
    assert re.search(r'<option value="smb"\s+selected', form)
    with pytest.raises(ValidationError) as caught:
        add_field(site, "tier", {"type": "integer", "minimum": 1, "default": 0})
    assert caught.value.details[0]["loc"] == ["schema", "default"]


def test_the_admin_field_editor_offers_limits_required_default_and_help(site, people, browse):
    client, token = browse(people["admin"])
    page = client.get("/admin/fields/customers").text
    for name in ("max_length", "currency", "minimum", "default", "description", "required"):
        assert f'name="{name}"' in page
    added = client.post("/admin/fields/customers", data={
        "csrf_token": token, "name": "deposit", "label_en": "Deposit", "label_zh_CN": "押金", "kind": "money", "currency": "hkd",
        "minimum": "", "default": "100", "required": "1", "description": "Paid at signing", "options": "", "target": "users"})
    assert added.status_code == 303, added.text
    schema = site.view.fields("customers")["deposit"].schema
    assert schema == {"type": "number", "format": "money", "x-currency": "HKD", "default": "100", "x-required": True, "description": "Paid at signing"}
    refused = client.post("/admin/fields/customers", data={
        "csrf_token": token, "name": "code", "label_en": "Code", "label_zh_CN": "", "kind": "string", "max_length": "lots",
        "options": "", "target": "users"})
    assert refused.status_code == 422 and "must be a number" in refused.text


# -- the duplicate check while typing ---------------------------------------------------------------


def test_the_create_form_asks_for_lookalikes_while_typing(site, people, browse):
    mine = site.records.create(people["rep"], "customers", {"name": "杭州茶业有限公司", "phone": "13800138000"})
    site.records.create(people["outsider"], "customers", {"name": "杭州茶业", "phone": "13900139000"})
    client, _ = browse(people["rep"])
    form = client.get("/r/customers/new").text
    assert 'hx-get="/r/customers/duplicates"' in form
    found = client.get("/r/customers/duplicates", params={"name": "杭州茶业", "kind": "company"}).text
    assert f'href="/r/customers/{mine["id"]}"' in found and "杭州茶业有限公司" in found
    assert "1 similar record exists that you cannot see" in found  # the outsider's: counted, never named
    by_phone = client.get("/r/customers/duplicates", params={"name": "Other", "phone": "+86 138 0013 8000"}).text
    assert f'href="/r/customers/{mine["id"]}"' in by_phone
    assert client.get("/r/customers/duplicates", params={"name": "Nothing alike"}).text.strip() == ""
    assert client.get("/r/customers/duplicates").text.strip() == ""
