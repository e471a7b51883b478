"""The numbering sequences page: one form per sequence, saved like PATCH /api/v1/meta/sequences/NAME."""

from __future__ import annotations

import pytest

from kernel import Actor
from kernel.testing import create_app, plugin_module
from tests.test_sequences import SeqDoc, documents
from tests.web.test_ui import add_user, signed_in

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
SYSTEM = Actor.system("cli")


@pytest.fixture
def site(make_site):
    site = make_site(plugin_module("seqtest", register_entities=lambda: [documents()]), default_locale="en")
    SeqDoc.__table__.create(site.engine)
    site.records.create_many(SYSTEM, "seqtest_docs", [{"title": "a"}, {"title": "b"}])
    return site


@pytest.fixture
def app(site):
    return create_app(site=site)


def test_an_admin_changes_a_sequence_and_sees_errors_next_to_the_field(site, app):
    add_user(site, "admin@example.com", "admin")
    client, token = signed_in(app, "admin@example.com")
    page = client.get("/admin/sequences").text
    assert 'id="seq-seqtest_docs"' in page and "Next number: SO-2026-000003" in page and 'href="/admin/sequences"' in page
    form = {"csrf_token": token, "prefix": "SO-{year}-", "padding": "6", "reset": "yearly", "time_zone": "UTC", "next": "3"}
    refused = client.post("/admin/sequences/seqtest_docs", data={**form, "next": "2", "padding": "x"})
    assert refused.status_code == 422 and "Nothing was saved" in refused.text
    assert 'id="seq-seqtest_docs-padding-error"' in refused.text and 'value="x"' in refused.text
    assert client.post("/admin/sequences/seqtest_docs", data={**form, "next": "50"}).status_code == 303
    assert site.records.create(SYSTEM, "seqtest_docs", {"title": "c"})["number"] == "SO-2026-000050"
    assert client.post("/admin/sequences/seqtest_docs", data={**form, "next": "60"} | {"csrf_token": ""}).status_code == 403


def test_a_rep_may_not_open_the_page(site, app):
    add_user(site, "rep@example.com", "sales_rep")
    client, token = signed_in(app, "rep@example.com")
    assert client.get("/admin/sequences").status_code == 403
    assert client.post("/admin/sequences/seqtest_docs", data={"csrf_token": token, "next": "90"}).status_code == 403
    assert site.records.create(SYSTEM, "seqtest_docs", {"title": "c"})["number"] == "SO-2026-000003"
