"""Authentication over HTTP: tokens, session cookies, CSRF, throttling, registration, audit."""

from __future__ import annotations

import httpx
import pytest
import sqlalchemy as sa

from kernel import Actor
from kernel.audit import AUDIT
from kernel.models import BrowserSession, Secret
from kernel.web import throttle
from kernel.web.app import create_app
from kernel.web.sessions import COOKIE
from tests.web.conftest import make_user

pytestmark = pytest.mark.anyio
PASSWORD = "s3cret-pass"


def browser(app, ip="10.0.0.1", base_url="http://testserver"):
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(ip, 50000))
    return httpx.AsyncClient(transport=transport, base_url=base_url)


async def sign_in(client, email, password=PASSWORD, **kwargs):
    return await client.post("/api/v1/auth/login", json={"email": email, "password": password}, **kwargs)


def audit_actions(site, action):
    with site.engine.connect() as conn:
        return conn.execute(sa.select(AUDIT).where(AUDIT.c.action == action).order_by(AUDIT.c.id)).mappings().all()


async def test_login_sets_a_safe_cookie_and_csrf_guards_every_unsafe_request(app, rep_user):
    async with browser(app) as client:
        response = await sign_in(client, rep_user["email"])
        assert response.status_code == 200
        cookie = response.headers["set-cookie"]
        assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower() and "secure" not in cookie.lower()
        csrf = response.json()["csrf_token"]
        assert response.json()["user"]["email"] == rep_user["email"] and "password_hash" not in response.json()["user"]

        assert (await client.get("/api/v1/notes")).status_code == 200  # reading needs no token
        refused = await client.post("/api/v1/notes", json={"title": "forged"})
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
        assert (await client.post("/api/v1/notes", json={"title": "forged"}, headers={"X-CSRF-Token": "nope"})).status_code == 403
        created = await client.post("/api/v1/notes", json={"title": "mine"}, headers={"X-CSRF-Token": csrf})
        assert created.status_code == 201 and created.json()["owner_id"] == rep_user["id"]
        assert (await client.get("/api/v1/auth/me")).json()["csrf_token"] == csrf

        # a form post (the browser UI) carries the token as a field
        assert (await client.post("/api/v1/auth/logout", data={"other": "x"})).status_code == 403
        assert (await client.post("/api/v1/auth/logout", data={"csrf_token": csrf})).status_code == 204
        assert (await client.get("/api/v1/notes")).status_code == 401


async def test_bearer_requests_need_no_csrf(rep):
    assert (await rep.post("/api/v1/notes", json={"title": "scripted"})).status_code == 201


async def test_https_cookies_are_secure(app, rep_user):
    async with browser(app, base_url="https://testserver") as client:
        response = await sign_in(client, rep_user["email"])
        assert "secure" in response.headers["set-cookie"].lower()


async def test_login_rotates_the_session_and_logout_really_ends_it(app, site, rep_user):
    async with browser(app) as client:
        first = (await sign_in(client, rep_user["email"])).cookies[COOKIE]
        second_response = await sign_in(client, rep_user["email"])
        second = second_response.cookies[COOKIE]
        assert first != second
        with site.engine.connect() as conn:
            assert conn.scalar(sa.select(sa.func.count()).select_from(BrowserSession.__table__)) == 1  # the old one is gone
        csrf = second_response.json()["csrf_token"]
        assert (await client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})).status_code == 204
    for stale in (first, second):
        async with browser(app) as replay:
            replay.cookies.set(COOKIE, stale)
            response = await replay.get("/api/v1/notes")
            assert response.status_code == 401 and response.json()["error"]["code"] == "unauthorized"
    assert [row["actor"] for row in audit_actions(site, "logout")] == [rep_user["email"]]


async def test_a_tampered_cookie_is_refused(app, rep_user):
    async with browser(app) as client:
        value = (await sign_in(client, rep_user["email"])).cookies[COOKIE]
        client.cookies.set(COOKIE, value[:-2] + ("AA" if not value.endswith("AA") else "BB"))
        assert (await client.get("/api/v1/notes")).status_code == 401


async def test_failed_logins_are_throttled_per_account_and_recover(app, site, clock, rep_user):
    email = rep_user["email"]
    for attempt in range(throttle.ACCOUNT_LIMIT):
        async with browser(app, ip=f"10.0.1.{attempt}") as client:  # a new address each time: still one account
            assert (await sign_in(client, email, "wrong-password")).status_code == 401
    async with browser(app, ip="10.0.2.1") as client:
        refused = await sign_in(client, email)  # even the right password
        assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limited"
        assert int(refused.headers["retry-after"]) == 15 * 60
        token = await client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
        assert token.status_code == 429
        clock.advance(minutes=15)
        assert (await sign_in(client, email)).status_code == 200
    failed = audit_actions(site, "login_failed")
    assert {row["ip"] for row in failed[: throttle.ACCOUNT_LIMIT]} == {f"10.0.1.{n}" for n in range(throttle.ACCOUNT_LIMIT)}
    assert [row["changes"]["reason"] for row in failed[-2:]] == ["rate_limited", "rate_limited"]


async def test_failed_logins_are_throttled_per_address_and_recover(app, clock, rep_user):
    async with browser(app, ip="10.9.9.9") as client:
        for attempt in range(throttle.IP_LIMIT):
            assert (await sign_in(client, f"nobody{attempt}@example.com", "guess")).status_code == 401
        assert (await sign_in(client, rep_user["email"])).status_code == 429
        clock.advance(throttle.WINDOW)
        assert (await sign_in(client, rep_user["email"])).status_code == 200
    async with browser(app, ip="10.9.9.10") as elsewhere:
        assert (await sign_in(elsewhere, rep_user["email"])).status_code == 200


async def test_tokens_expire_list_without_secrets_and_record_last_use(app, site, clock, rep_user, rep):
    listed = (await rep.get("/api/v1/auth/tokens")).json()["items"]
    assert len(listed) == 1 and "token_hash" not in listed[0] and "token" not in listed[0]
    assert listed[0]["last_used_at"] == clock.now().isoformat()
    clock.advance(seconds=30)
    assert (await rep.get("/api/v1/auth/tokens")).json()["items"][0]["last_used_at"] != clock.now().isoformat()  # once a minute
    clock.advance(seconds=31)
    assert (await rep.get("/api/v1/auth/tokens")).json()["items"][0]["last_used_at"] == clock.now().isoformat()
    clock.advance(days=30)
    expired = await rep.get("/api/v1/auth/tokens")
    assert expired.status_code == 401 and "expired" in expired.json()["error"]["message"]


async def test_tokens_are_revoked_by_their_owner_or_an_admin(app, site, rep_user, admin_user, rep, client):
    other = make_user(site, "other@example.com", "sales_rep")
    assert (await rep.delete(f"/api/v1/auth/tokens/{_token_id(site, other['id'])}")).status_code == 404
    assert (await rep.get(f"/api/v1/auth/tokens?user_id={other['id']}")).status_code == 403
    assert (await client.delete(f"/api/v1/auth/tokens/{_token_id(site, other['id'])}")).status_code == 204
    mine = _token_id(site, rep_user["id"])
    assert (await rep.delete(f"/api/v1/auth/tokens/{mine}")).status_code == 204
    assert (await rep.get("/api/v1/auth/tokens")).status_code == 401
    revoked = audit_actions(site, "token_revoke")
    assert [(r["actor"], r["record_id"]) for r in revoked] == [("admin@example.com", other["id"]), ("rep@example.com", rep_user["id"])]


def _token_id(site, user_id):
    from kernel.models import ApiToken

    with site.engine.connect() as conn:
        return conn.scalar(sa.select(ApiToken.id).where(ApiToken.user_id == user_id))


async def test_token_endpoint_audits_the_login_and_the_new_token(anon, site, rep_user):
    response = await anon.post("/api/v1/auth/token", json={"email": "REP@example.com", "password": PASSWORD, "name": "ci"})
    assert response.status_code == 201
    created = audit_actions(site, "token_create")[-1]
    assert created["actor"] == "rep@example.com" and created["changes"]["name"] == "ci"
    assert audit_actions(site, "login")[-1]["record_id"] == rep_user["id"]


async def test_self_registration_is_off_by_default_and_waits_for_approval(make_site, site, admin_user):
    body = {"email": "new@example.com", "password": "long-enough-pw", "name": "New"}
    async with browser(create_app(site=site)) as client:
        assert (await client.post("/api/v1/auth/register", json=body)).status_code == 403
    open_site = make_site(*[site.installed[n].module for n in ("notes", "extras")], allow_registration=True)
    async with browser(create_app(site=open_site)) as client:
        created = await client.post("/api/v1/auth/register", json=body)
        assert created.status_code == 201 and created.json()["active"] is False
        assert (await client.post("/api/v1/auth/register", json={**body, "role": "admin"})).status_code == 422
        assert (await sign_in(client, body["email"], body["password"])).status_code == 401
        open_site.records.update(Actor.system("cli"), "users", created.json()["id"], {"active": True})
        assert (await sign_in(client, body["email"], body["password"])).status_code == 200


async def test_without_a_secret_key_every_process_shares_one_stored_key(make_site, site, rep_user):
    other_process = make_site(*[site.installed[n].module for n in ("notes", "extras")])
    async with browser(create_app(site=site)) as client:
        cookie = (await sign_in(client, rep_user["email"])).cookies[COOKIE]
    async with browser(create_app(site=other_process)) as client:
        client.cookies.set(COOKIE, cookie)
        assert (await client.get("/api/v1/notes")).status_code == 200
    with site.engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(Secret.__table__)) == 1


async def test_a_configured_secret_key_signs_instead(make_site, site, rep_user):
    keyed = make_site(*[site.installed[n].module for n in ("notes", "extras")], secret_key="k" * 40)
    async with browser(create_app(site=keyed)) as client:
        assert (await sign_in(client, rep_user["email"])).status_code == 200
        assert (await client.get("/api/v1/notes")).status_code == 200
    with keyed.engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(Secret.__table__)) == 0


async def test_login_input_errors_use_the_envelope(anon):
    bad_json = await anon.post("/api/v1/auth/login", content=b"{", headers={"content-type": "application/json"})
    assert bad_json.status_code == 422 and bad_json.json()["error"]["details"][0]["loc"] == ["body"]
    assert (await anon.post("/api/v1/auth/login", json={"email": 1, "password": 2})).status_code == 422
    form = await anon.post("/api/v1/auth/login", data={"email": "x@example.com", "password": "y"})
    assert form.status_code == 422 and form.json()["error"]["details"][0]["loc"] == ["header", "content-type"]
    assert (await anon.get("/api/v1/auth/tokens")).status_code == 401


async def test_the_api_login_refuses_cross_site_requests_and_sets_no_cookie_for_them(app, rep_user):
    body = {"email": rep_user["email"], "password": PASSWORD}
    async with browser(app) as client:
        # a page on another site can post a form (no preflight): refused, no cookie
        forged = await client.post("/api/v1/auth/login", data=body, headers={"origin": "https://evil.example"})
        assert forged.status_code == 403 and "set-cookie" not in forged.headers
        plain_form = await client.post("/api/v1/auth/login", data=body)
        assert plain_form.status_code == 422 and "set-cookie" not in plain_form.headers
        for headers in ({"origin": "https://evil.example"}, {"origin": "null"}, {"referer": "https://evil.example/page"},
                        {"sec-fetch-site": "cross-site"}, {"sec-fetch-site": "same-site"}):
            refused = await client.post("/api/v1/auth/login", json=body, headers=headers)
            assert refused.status_code == 403 and "set-cookie" not in refused.headers, headers
            assert refused.json()["error"]["details"][0]["loc"] == ["header", "origin"]
        for headers in ({}, {"origin": "http://testserver"}, {"referer": "http://testserver/login"}, {"sec-fetch-site": "same-origin"}):
            assert (await client.post("/api/v1/auth/login", json=body, headers=headers)).status_code == 200, headers
