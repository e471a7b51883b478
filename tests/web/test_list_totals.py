"""Totals past the count cap: the API's ``total_exact``, the OpenAPI page schema, the list page's pager."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from kernel import Actor
from kernel.web.app import create_app
from tests.example import plugin as notes_plugin
from tests.web.conftest import http_client, make_user
from tests.web.test_ui import PASSWORD, add_user, signed_in

CAP = 3


@pytest.fixture
def site(make_site):
    site = make_site(notes_plugin, count_cap=CAP, default_locale="en")
    site.records.create_many(Actor.system(), "notes", [{"title": f"退款 note {i}"} for i in range(CAP + 2)])
    return site


@pytest.mark.anyio
async def test_api_counts_up_to_the_cap_and_exactly_on_demand(site, anyio_backend):
    token = make_user(site, "admin@example.com", "admin")["token"]
    async with http_client(create_app(site=site), token) as client:
        page = (await client.get("/api/v1/notes", params={"limit": 2})).json()
        assert (page["total"], page["total_exact"], len(page["items"])) == (CAP, False, 2)
        exact = (await client.get("/api/v1/notes", params={"limit": 2, "total_exact": "true"})).json()
        assert (exact["total"], exact["total_exact"]) == (CAP + 2, True)
        found = (await client.get("/api/v1/notes", params={"q": "退款", "limit": 10})).json()
        assert (found["total"], found["total_exact"]) == (CAP + 2, True)  # the last page counts itself
        refused = await client.get("/api/v1/notes", params={"total_exact": "maybe"})
        assert refused.status_code == 422 and refused.json()["error"]["details"][0]["loc"] == ["query", "total_exact"]
        document = (await client.get("/api/v1/openapi.json")).json()
    schema = document["components"]["schemas"]["notes.Page"]
    assert "total_exact" in schema["required"] and schema["properties"]["total_exact"]["type"] == "boolean"
    params = {p["name"] for p in document["paths"]["/api/v1/notes"]["get"]["parameters"]}
    assert {"q", "total_exact"} <= params


def test_list_page_says_more_than_the_cap_and_keeps_paging(site):
    add_user(site, "admin@example.com", "admin")
    client, _ = signed_in(create_app(site=site), "admin@example.com", PASSWORD)
    page = client.get("/r/notes").text  # 20 a page: everything fits, the count is exact
    assert '<span class="count">5</span>' in page
    site.records.create_many(Actor.system(), "notes", [{"title": f"n{i}"} for i in range(40)])
    page = client.get("/r/notes").text
    assert '<span class="count">3+</span>' in page
    assert "Page 1 of more than 1" in page and 'rel="next"' in page
    second = client.get("/r/notes?page=2").text
    assert 'rel="prev"' in second and 'rel="next"' in second
    assert "Page 3 of 3" in client.get("/r/notes?page=3").text  # the last page counts itself
