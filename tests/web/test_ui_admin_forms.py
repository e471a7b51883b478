"""The public forms admin page: build a form with the field picker, see its preview link and embed snippet."""

from __future__ import annotations

import pytest

from kernel import forms
from kernel.testing import create_app
from tests.example import plugin as notes_plugin
from tests.web.test_ui import add_user, signed_in

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def site(make_site):
    return make_site(notes_plugin, default_locale="en")


def test_an_admin_builds_a_form_and_a_rep_may_not(site):
    app = create_app(site=site)
    add_user(site, "admin@example.com", "admin")
    add_user(site, "rep@example.com", "sales_rep")
    client, token = signed_in(app, "admin@example.com")
    assert 'href="/admin/forms"' in client.get("/admin/forms").text
    page = client.get("/admin/forms/new?entity=notes").text
    assert 'name="use.title"' in page and 'name="use.body"' in page and 'name="use.owner_id"' not in page
    form = {"csrf_token": token, "slug": "ask", "title.en": "Ask us", "title.zh_CN": "咨询", "use.title": "1",
            "label.title.en": "Name", "label.title.zh_CN": "姓名", "use.body": "1", "required.body": "1",
            "consent.en": "OK to call me", "per_hour": "5", "active": "1"}
    refused = client.post("/admin/forms/new?entity=notes", data={**form, "slug": "Not A Slug", "per_hour": "0"})
    assert refused.status_code == 422 and "Nothing was saved" in refused.text and 'value="Not A Slug"' in refused.text
    assert forms.list_forms(site) == []
    saved = client.post("/admin/forms/new?entity=notes", data=form)
    assert saved.status_code == 303
    [stored] = forms.list_forms(site)
    assert stored["fields"] == [{"name": "title", "custom": False, "label": {"en": "Name", "zh_CN": "姓名"}, "required": True},
                                {"name": "body", "custom": False, "label": {"en": "Body", "zh_CN": "内容"}, "required": True}]
    assert stored["consent"] == {"en": "OK to call me", "zh_CN": "OK to call me"} and stored["per_hour"] == 5
    listing = client.get("/admin/forms").text
    assert 'href="http://testserver/public/forms/ask"' in listing and "?embed=1" in listing
    edit = client.post(f"/admin/forms/{stored['id']}", data={**form, "active": ""} | {"csrf_token": token})
    assert edit.status_code == 303 and forms.get(site, stored["id"])["active"] is True  # a present "active" field is ticked
    edit = client.post(f"/admin/forms/{stored['id']}", data={k: v for k, v in form.items() if k != "active"})
    assert edit.status_code == 303 and forms.get(site, stored["id"])["active"] is False
    rep, rep_token = signed_in(app, "rep@example.com")
    assert rep.get("/admin/forms").status_code == 403
    assert rep.post("/admin/forms/new?entity=notes", data={**form, "csrf_token": rep_token, "slug": "rep"}).status_code == 403
    assert len(forms.list_forms(site)) == 1
