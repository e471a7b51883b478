"""Public forms (kernel.forms, kernel.web.public_forms): anonymous visitors create records, and only that."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa

from kernel import Actor, Forbidden, NotFound
from kernel.models import AuditEntry, Consent
from kernel.web.app import create_app
from kernel.web.public import POST_LIMIT
from tests.example import plugin as notes_plugin
from tests.web import extras
from tests.web.conftest import make_user

pytestmark = pytest.mark.anyio
SELF = "http://testserver"
FORM = {
    "slug": "contact",
    "entity": "notes",
    "title": {"en": "Contact us", "zh_CN": "联系我们"},
    "fields": [
        {"name": "title", "label": {"en": "Your name", "zh_CN": "您的姓名"}},
        {"name": "body", "label": {"en": "Message", "zh_CN": "留言"}, "required": True},
        {"name": "email", "label": {"en": "Email", "zh_CN": "邮箱"}},
    ],
    "consent": {"en": "You may email me.", "zh_CN": "同意接收邮件。"},
    "thank_you": {"en": "Thanks, we will call.", "zh_CN": "谢谢，我们会联系您。"},
    "per_hour": 20,
}


def visitor(app, ip: str = "198.51.100.7", origin: str | None = SELF) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(ip, 5000))
    headers = {"Origin": origin} if origin else {}
    return httpx.AsyncClient(transport=transport, base_url=SELF, headers=headers)


def admin_client(app, token: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url=SELF, headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
async def form(app, admin_user, anyio_backend):
    async with admin_client(app, admin_user["token"]) as admin:
        made = await admin.post("/api/v1/meta/entities/notes/fields",
                                json={"name": "email", "schema": {"type": "string", "format": "email"}, "label": {"en": "Email", "zh_CN": "邮箱"}})
        assert made.status_code == 201, made.text
        answer = await admin.post("/api/v1/meta/forms", json=FORM)
        assert answer.status_code == 201, answer.text
        return answer.json()


def notes(site) -> list[dict]:
    return site.records.list(Actor.system(), "notes").items


def consents(site) -> list[dict]:
    with site.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(Consent.__table__).order_by("id"))]


async def test_an_anonymous_form_post_creates_the_record_as_the_public_channel_with_consent(app, site, form):
    async with visitor(app) as client:
        page = await client.get("/public/forms/contact?lang=en")
        assert page.status_code == 200 and "Your name" in page.text and "You may email me." in page.text
        assert "logout" not in page.text.lower() and 'name="hp_website"' in page.text
        assert '<link rel="icon" href="/static/ui/favicon.svg" type="image/svg+xml">' in page.text  # no /favicon.ico 404 for a visitor
        sent = await client.post("/public/forms/contact", data={"title": "Ann", "body": "call me", "custom.email": " Ann@Example.COM ",
                                                              "consent": "1", "lang": "en", "hp_website": ""})
    assert sent.status_code == 200 and "Thanks, we will call." in sent.text
    [note] = notes(site)
    assert (note["title"], note["body"], note["custom"]["email"], note["owner_id"]) == ("Ann", "call me", "Ann@Example.COM", None)
    with site.engine.connect() as conn:
        entry = conn.execute(sa.select(AuditEntry.__table__).where(AuditEntry.__table__.c.entity == "notes")).one()
    assert (entry.channel, entry.actor_id, entry.actor, entry.ip) == ("public", None, "public /public/forms/contact", "198.51.100.7")
    [consent] = consents(site)
    assert (consent["key"], consent["kind"], consent["purpose"], consent["text"], consent["record_id"], consent["ip"]) == (
        "ann@example.com", "email", "form:contact", "You may email me.", note["id"], "198.51.100.7")


async def test_json_post_answers_201_without_the_record_id(app, site, form):
    async with visitor(app) as client:
        sent = await client.post("/public/forms/contact", json={"title": "Bo", "body": "hi", "email": "bo@example.com", "consent": True, "lang": "zh_CN"})
    assert sent.status_code == 201
    assert sent.json() == {"ok": True, "message": "谢谢，我们会联系您。", "redirect_url": None}
    assert [n["title"] for n in notes(site)] == ["Bo"]
    assert consents(site)[0]["text"] == "同意接收邮件。"


async def test_the_honeypot_answers_like_success_and_stores_nothing(app, site, form):
    async with visitor(app) as client:
        html = await client.post("/public/forms/contact", data={"title": "Bot", "body": "spam", "consent": "1", "hp_website": "http://spam"})
        json = await client.post("/public/forms/contact", json={"title": "Bot", "body": "spam", "consent": True, "hp_website": "x"})
    assert html.status_code == 200 and "谢谢，我们会联系您。" in html.text
    assert json.status_code == 201 and json.json()["ok"] is True
    assert notes(site) == [] and consents(site) == []


async def test_the_per_ip_limit_is_shared_by_two_workers_on_one_database(make_site, site, form, clock, admin_user):
    async with admin_client(create_app(site=site), admin_user["token"]) as admin:
        assert (await admin.patch(f"/api/v1/meta/forms/{form['id']}", json={"per_hour": 3})).json()["per_hour"] == 3
    other_worker = make_site(notes_plugin, extras)  # a second Site: its own engine, pool and caches
    first, second = create_app(site=site), create_app(site=other_worker)
    body = {"title": "Ann", "body": "hi", "consent": True}
    async with visitor(first) as one, visitor(second) as two, visitor(second, ip="203.0.113.5") as elsewhere:
        answers = [(await one.post("/public/forms/contact", json=body)).status_code,
                   (await two.post("/public/forms/contact", json=body)).status_code,
                   (await one.post("/public/forms/contact", json=body)).status_code]
        refused = await two.post("/public/forms/contact", json=body)
        page = await one.post("/public/forms/contact", data={"title": "Ann", "body": "hi", "consent": "1"})
        other_ip = await elsewhere.post("/public/forms/contact", json=body)
        assert answers == [201, 201, 201]
        assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limited"
        assert 0 < int(refused.headers["Retry-After"]) <= 3600
        assert page.status_code == 429 and "Too many submissions" in page.text
        assert other_ip.status_code == 201
        clock.advance(timedelta(hours=1))
        assert (await two.post("/public/forms/contact", json=body)).status_code == 201
    assert len(notes(site)) == 5


async def test_a_cross_origin_post_is_refused_and_a_listed_origin_accepted(make_site, site, form):
    app = create_app(site=site)
    async with visitor(app, origin="https://evil.example") as evil, visitor(app, origin=None) as bare:
        refused = await evil.post("/public/forms/contact", json={"title": "x", "body": "y", "consent": True})
        page = await evil.post("/public/forms/contact", data={"title": "x", "body": "y", "consent": "1"})
        unsaid = await bare.post("/public/forms/contact", json={"title": "x", "body": "y", "consent": True})
        referred = await bare.post("/public/forms/contact", json={"title": "r", "body": "y", "consent": True},
                                   headers={"Referer": f"{SELF}/public/forms/contact"})
        preflight = await evil.options("/public/forms/contact")
    assert refused.status_code == 403 and refused.json()["error"]["details"][0]["loc"] == ["header", "Origin"]
    assert page.status_code == 403 and "does not accept posts" in page.text
    assert unsaid.status_code == 403 and preflight.status_code == 403
    assert referred.status_code == 201
    assert [n["title"] for n in notes(site)] == ["r"]
    partner = create_app(site=make_site(notes_plugin, extras, public_origins=("https://shop.example",)))
    async with visitor(partner, origin="https://shop.example") as shop:
        preflight = await shop.options("/public/forms/contact")
        sent = await shop.post("/public/forms/contact", json={"title": "s", "body": "y", "consent": True})
        page = await shop.get("/public/forms/contact?embed=1")
    assert preflight.status_code == 204 and preflight.headers["access-control-allow-origin"] == "https://shop.example"
    assert sent.status_code == 201 and sent.headers["access-control-allow-origin"] == "https://shop.example"
    assert page.headers["content-security-policy"] == "frame-ancestors 'self' https://shop.example"
    async with visitor(partner, origin="https://shop.example") as shop:
        for _ in range(POST_LIMIT - 1):  # the space's own per-IP limit (one post already counted), before the form's
            await shop.post("/public/forms/none", json={})
        limited = await shop.post("/public/forms/contact", json={"title": "s", "body": "y", "consent": True})
    assert limited.status_code == 429 and limited.headers["access-control-allow-origin"] == "https://shop.example"


async def test_an_inactive_or_unknown_form_answers_404(app, site, form, admin_user):
    async with admin_client(app, admin_user["token"]) as admin:
        assert (await admin.patch(f"/api/v1/meta/forms/{form['id']}", json={"active": False})).json()["active"] is False
    async with visitor(app) as client:
        assert (await client.get("/public/forms/contact")).status_code == 404
        assert (await client.post("/public/forms/contact", json={"title": "x", "body": "y", "consent": True})).status_code == 404
        page = await client.get("/public/forms/nope")
        assert page.status_code == 404 and "no longer active" in page.text
        assert (await client.get("/public/forms/nope", headers={"Accept": "application/json"})).json()["error"]["code"] == "not_found"
    assert notes(site) == []


async def test_bad_input_names_the_field_and_stores_nothing(app, site, form):
    async with visitor(app) as client:
        page = await client.post("/public/forms/contact", data={"title": "Ann", "body": "", "custom.email": "not-an-email", "lang": "en"})
        chinese = await client.post("/public/forms/contact", data={"title": "Ann", "body": "", "consent": "1", "lang": "zh_CN"})
        missing = await client.post("/public/forms/contact", json={"title": "Ann", "consent": True})
        unknown = await client.post("/public/forms/contact", json={"title": "Ann", "body": "x", "priority": 1, "consent": True})
        wrong = await client.post("/public/forms/contact", json={"title": "Ann", "body": "x", "email": "nope", "consent": True})
        vetoed = await client.post("/public/forms/contact", json={"title": "forbidden", "body": "x", "email": "a@b.example", "consent": True})
    assert page.status_code == 422 and "Nothing was sent" in page.text
    assert 'id="f-body-error"' in page.text and 'id="consent-error"' in page.text and 'value="not-an-email"' in page.text
    assert chinese.status_code == 422 and "此项必填" in chinese.text and "请更正标出的字段" in chinese.text
    assert missing.status_code == 422 and missing.json()["error"]["details"] == [{"loc": ["body", "body"], "msg": "is required"}]
    assert unknown.status_code == 422 and unknown.json()["error"]["details"][0]["loc"] == ["body", "priority"]
    assert wrong.status_code == 422 and wrong.json()["error"]["details"][0]["loc"][-1] == "email"
    assert vetoed.status_code == 422 and vetoed.json()["error"]["details"][0]["loc"] == ["title"]
    assert notes(site) == [] and consents(site) == []  # the vetoed post's consent went with its record


async def test_the_external_actor_reads_nothing(site):
    site.records.create(Actor.system(), "notes", {"title": "secret"})
    visitor_actor = Actor.external(route="/public/forms/contact", ip="198.51.100.7").granting("notes.create")
    with pytest.raises(Forbidden):
        site.records.list(visitor_actor, "notes")
    with pytest.raises(Forbidden):
        site.records.list(visitor_actor, "users")
    assert site.records.readable_ids(visitor_actor, "notes", [1]) == []
    created = site.records.create(visitor_actor, "notes", {"title": "mine"})
    with pytest.raises((Forbidden, NotFound)):
        site.records.get(visitor_actor, "notes", created["id"])
    with pytest.raises((Forbidden, NotFound)):
        site.records.update(visitor_actor, "notes", created["id"], {"title": "changed"})
    with pytest.raises(Forbidden):
        site.records.create(Actor.external(route="/public/x"), "notes", {"title": "no grant"})


async def test_admin_api_checks_definitions_and_admins_only(app, site, form, admin_user):
    rep = make_user(site, "rep@example.com", "sales_rep")
    async with admin_client(app, rep["token"]) as rep_client:
        assert (await rep_client.get("/api/v1/meta/forms")).status_code == 403
    async with admin_client(app, admin_user["token"]) as admin:
        listed = (await admin.get("/api/v1/meta/forms")).json()["items"]
        bad_field = await admin.post("/api/v1/meta/forms", json={**FORM, "slug": "x", "fields": ["title", "owner_id"]})
        no_title = await admin.post("/api/v1/meta/forms", json={**FORM, "slug": "y", "fields": ["body"]})
        taken = await admin.post("/api/v1/meta/forms", json=FORM)
        bad_slug = await admin.post("/api/v1/meta/forms", json={**FORM, "slug": "Bad Slug"})
        deleted = await admin.delete(f"/api/v1/meta/forms/{form['id']}")
    assert listed[0]["url"] == f"{SELF}/public/forms/contact" and 'src="http://testserver/public/forms/contact?embed=1"' in listed[0]["embed"]
    assert bad_field.status_code == 422 and bad_field.json()["error"]["details"][0]["loc"] == ["body", "fields", 1, "name"]
    assert no_title.status_code == 422 and "title" in no_title.json()["error"]["message"]
    assert taken.status_code == 409 and bad_slug.status_code == 422
    assert deleted.status_code == 204


async def test_a_failure_storing_consent_leaves_no_record_behind(app, site, form, monkeypatch):
    from kernel import forms as kernel_forms

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(kernel_forms.consents, "give", broken)
    async with visitor(app) as client:
        answer = await client.post("/public/forms/contact", json={"title": "Ann", "body": "x", "email": "a@b.example", "consent": True})
    assert answer.status_code == 500
    assert notes(site) == [] and consents(site) == []
