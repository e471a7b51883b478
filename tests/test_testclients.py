"""The clients and the cast of :mod:`kernel.testing` that the plugins' tests are built on."""

from __future__ import annotations

import pytest

from kernel import Actor
from kernel.testing import api_clients, make_people, page_clients, text_of

SYSTEM = Actor.system("cli")


def test_the_people_are_five_users_in_two_teams(site):
    people = make_people(site)
    assert {key: actor.role for key, actor in people.items()} == {
        "admin": "admin", "manager": "sales_manager", "rep": "sales_rep", "rep2": "sales_rep", "outsider": "sales_rep",
    }
    north = site.records.get(SYSTEM, "teams", people["rep"].team_id)
    assert north["name"] == "North" and north["manager_id"] == people["manager"].user_id
    assert people["rep2"].team_id == north["id"] != people["outsider"].team_id and people["admin"].team_id is None
    assert people["rep"].label == site.records.get(SYSTEM, "users", people["rep"].user_id)["email"] == "rep@example.com"


def test_an_api_client_acts_as_its_user(site, people):
    client_for = api_clients(site)
    assert client_for(people["rep"]).get("/api/v1/auth/me").json()["user"]["email"] == "rep@example.com"
    assert client_for(people["admin"]).get("/api/v1/auth/me").json()["user"]["email"] == "admin@example.com"
    with pytest.raises(ValueError, match="'cli'.*needs a user"):
        client_for(SYSTEM)


def test_a_page_client_is_signed_in_in_the_language_asked_and_its_token_posts_forms(site, people):
    sign_in = page_clients(site)
    client, token = sign_in(people["rep"], locale="zh_CN")
    home = client.get("/")
    assert home.status_code == 200 and 'lang="zh' in home.text
    me = client.get("/api/v1/auth/me").json()
    assert me["user"]["email"] == "rep@example.com" and me["csrf_token"] == token
    assert client.post("/logout", data={}).status_code == 403  # the token is what a form needs
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    assert client.get("/").status_code in (302, 303) and "/login" in client.get("/").headers["location"]
    by_email = sign_in("manager@example.com", follow_redirects=True).client
    assert by_email.get("/api/v1/auth/me").json()["user"]["email"] == "manager@example.com"


def test_a_page_client_for_nobody_fails(site, people):
    with pytest.raises(AssertionError, match="nobody@example.com"):
        page_clients(site)("nobody@example.com")


def test_text_of_a_page_drops_tags_and_squeezes_spaces():
    assert text_of("<p>Lead\n  <b>pools</b></p><td>3</td>") == " Lead pools 3 "


def test_the_page_client_s_starlette_test_client_is_not_deprecated():
    """Starlette's TestClient on httpx alone warns (at import) that it is deprecated: it runs on httpx2,
    a dependency. A fresh interpreter, so the import is a first one, with every warning an error."""
    import subprocess
    import sys

    code = "import warnings; warnings.simplefilter('error'); import starlette.testclient as t; print(t.httpx.__name__)"
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0 and ran.stdout.strip() == "httpx2", ran.stderr
