"""Changing one's own password: ``POST /api/v1/auth/password`` and the page ``/account/password``."""

from __future__ import annotations

import re

import pytest

from kernel.passwords import TOO_COMMON
from kernel.web import throttle
from kernel.web.auth import issue_token
from kernel.web.sessions import COOKIE
from tests.web.conftest import http_client
from tests.web.test_auth import PASSWORD, audit_actions, browser, sign_in

pytestmark = pytest.mark.anyio
NEW = "a-new-passphrase"


async def test_a_rep_changes_their_password_and_only_the_sending_token_lives_on(app, site, rep_user):
    other_token = issue_token(site, rep_user["id"])["token"]
    async with browser(app) as web:
        assert (await sign_in(web, rep_user["email"])).status_code == 200
        async with http_client(app, rep_user["token"]) as api:
            changed = await api.post("/api/v1/auth/password", json={"current_password": PASSWORD, "new_password": NEW})
            assert changed.status_code == 200, changed.text
            assert changed.json()["user"]["email"] == rep_user["email"] and changed.json()["csrf_token"] is None
            assert (await api.get("/api/v1/notes")).status_code == 200  # the sending token lives on
        assert (await web.get("/api/v1/notes")).status_code == 401  # the browser session ended
    async with http_client(app, other_token) as other:
        assert (await other.get("/api/v1/notes")).status_code == 401
    async with browser(app) as web:
        assert (await sign_in(web, rep_user["email"], PASSWORD)).status_code == 401
        assert (await sign_in(web, rep_user["email"], NEW)).status_code == 200
    assert [row["record_id"] for row in audit_actions(site, "update")] == [rep_user["id"]]


async def test_a_session_changing_the_password_gets_a_new_session(app, site, rep_user):
    async with browser(app) as web:
        signed_in = await sign_in(web, rep_user["email"])
        old_cookie, csrf = signed_in.cookies[COOKIE], signed_in.json()["csrf_token"]
        body = {"current_password": PASSWORD, "new_password": NEW}
        assert (await web.post("/api/v1/auth/password", json=body)).status_code == 403  # CSRF token needed
        changed = await web.post("/api/v1/auth/password", json=body, headers={"X-CSRF-Token": csrf})
        assert changed.status_code == 200 and changed.json()["csrf_token"] not in (None, csrf)
        assert changed.cookies[COOKIE] != old_cookie
        assert (await web.get("/api/v1/notes")).status_code == 200
    async with browser(app) as replay:
        replay.cookies.set(COOKIE, old_cookie)
        assert (await replay.get("/api/v1/notes")).status_code == 401


async def test_wrong_or_weak_input_is_named_and_wrong_guesses_are_throttled(app, rep_user):
    async with http_client(app, rep_user["token"]) as api:
        weak = await api.post("/api/v1/auth/password", json={"current_password": PASSWORD, "new_password": "password123"})
        assert weak.status_code == 422 and weak.json()["error"]["details"] == [{"loc": ["body", "new_password"], "msg": TOO_COMMON}]
        missing = await api.post("/api/v1/auth/password", json={"new_password": NEW})
        assert missing.json()["error"]["details"][0]["loc"] == ["body", "current_password"]
        form = await api.post("/api/v1/auth/password", data={"current_password": PASSWORD, "new_password": NEW})
        assert form.status_code == 422 and form.json()["error"]["details"][0]["loc"] == ["header", "content-type"]
        for _ in range(throttle.ACCOUNT_LIMIT):
            wrong = await api.post("/api/v1/auth/password", json={"current_password": "not-it-at-all", "new_password": NEW})
            assert wrong.status_code == 422 and wrong.json()["error"]["details"][0]["loc"] == ["body", "current_password"]
        limited = await api.post("/api/v1/auth/password", json={"current_password": PASSWORD, "new_password": NEW})
        assert limited.status_code == 429
    async with http_client(app) as anon:
        assert (await anon.post("/api/v1/auth/password", json={"current_password": PASSWORD, "new_password": NEW})).status_code == 401


def form_csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


async def test_the_account_page_changes_the_password_and_keeps_the_browser_signed_in(app, site, rep_user):
    other_token = issue_token(site, rep_user["id"])["token"]
    async with browser(app) as web:
        await sign_in(web, rep_user["email"])
        web.cookies.set("crm_locale", "en")
        home = await web.get("/")
        assert 'href="/account/password"' in home.text
        page = await web.get("/account/password")
        assert page.status_code == 200 and 'name="new_password"' in page.text
        csrf = form_csrf(page.text)
        weak = await web.post("/account/password", data={"csrf_token": csrf, "current_password": PASSWORD, "new_password": "1234567890", "new_password_again": "1234567890"})
        assert weak.status_code == 422 and "Use more than digits." in weak.text
        differ = await web.post("/account/password", data={"csrf_token": csrf, "current_password": PASSWORD, "new_password": NEW, "new_password_again": NEW + "x"})
        assert differ.status_code == 422
        done = await web.post("/account/password", data={"csrf_token": csrf, "current_password": PASSWORD, "new_password": NEW, "new_password_again": NEW})
        assert done.status_code == 303 and done.headers["location"] == "/account/password?changed=1"
        after = await web.get("/account/password?changed=1")
        assert after.status_code == 200 and "Your password was changed" in after.text
    async with http_client(app, other_token) as other:
        assert (await other.get("/api/v1/notes")).status_code == 401


async def test_the_account_page_speaks_chinese(app, site, rep_user):
    async with browser(app) as web:
        await sign_in(web, rep_user["email"])
        web.cookies.set("crm_locale", "zh_CN")
        page = await web.get("/account/password")
        csrf = form_csrf(page.text)
        weak = await web.post("/account/password", data={"csrf_token": csrf, "current_password": PASSWORD, "new_password": "1234567890", "new_password_again": "1234567890"})
        assert "修改密码" in weak.text and "不能只用数字" in weak.text
