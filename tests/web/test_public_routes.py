"""The /public/ space (kernel.web.public): plugin routes without sign-in, an external actor, origin checks, caps."""

from __future__ import annotations

import threading
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from kernel import Actor, ConfigError, Entity, rate_limit
from kernel.entities import check_entity
from kernel.models import AuditEntry
from kernel.pluginstate import disable_plugin
from kernel.settings import parse_settings
from kernel.testing import plugin_module
from kernel.web.app import create_app
from kernel.web.limits import PUBLIC_BYTES
from tests.example import plugin as notes_plugin

pytestmark = pytest.mark.anyio
SELF = "http://testserver"


async def hello(request: Request) -> JSONResponse:
    actor = request.state.actor
    return JSONResponse({"channel": actor.channel, "user_id": actor.user_id, "role": actor.role, "ip": actor.ip, "label": actor.label,
                         "thread": threading.current_thread().name})


async def quote(request: Request) -> JSONResponse:
    """Creates a note as the visitor, granted exactly that; limited to 2 per IP per minute."""
    site = request.app.state.site
    actor = request.state.actor.granting("notes.create")
    rate_limit(site, f"quote:{actor.ip}", 2, timedelta(minutes=1))
    body = await request.json()
    note = site.records.create(actor, "notes", {"title": body["title"]})
    return JSONResponse({"created": note["title"]}, status_code=201)


def public_routes():
    return [Route("/hello", hello), Route("/quote", quote, methods=["POST"]), Route("/{entity}/{id}/{action}", hello)]


acme = plugin_module("acme", requires=["notes"], register_public_routes=public_routes)


@pytest.fixture
def site(make_site):
    return make_site(notes_plugin, acme)


def client_for(app, origin: str | None = SELF, ip: str = "192.0.2.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(ip, 4000))
    return httpx.AsyncClient(transport=transport, base_url=SELF, headers={"Origin": origin} if origin else {})


async def test_a_plugin_route_answers_without_sign_in_as_an_external_actor(site, anyio_backend):
    async with client_for(create_app(site=site)) as client:
        answer = await client.get("/public/acme/hello")
        deep = await client.get("/public/acme/notes/1/close")  # a catch-all of the plugin's own, inside its space
        api = await client.get("/api/v1/notes/1/close")
    assert answer.status_code == 200
    assert answer.json() == {"channel": "public", "user_id": None, "role": None, "ip": "192.0.2.1", "label": "public /public/acme/hello",
                             "thread": "crm-request-1"}  # off the server's loop, like every request (kernel.web.offload)
    assert deep.status_code == 200 and deep.json()["channel"] == "public"
    assert api.status_code in (401, 405)  # the API still wants credentials: /public is a space of its own


async def test_a_route_grants_only_what_it_names_and_limits_per_ip(site, anyio_backend):
    async with client_for(create_app(site=site)) as client:
        answers = [(await client.post("/public/acme/quote", json={"title": f"q{i}"})).status_code for i in range(3)]
        refused = await client.post("/public/acme/quote", json={"title": "late"})
    assert answers == [201, 201, 429] and refused.status_code == 429 and "Retry-After" in refused.headers
    titles = [n["title"] for n in site.records.list(Actor.system(), "notes").items]
    assert titles == ["q0", "q1"]
    with site.engine.connect() as conn:
        channels = set(conn.scalars(sa.select(AuditEntry.__table__.c.channel).where(AuditEntry.__table__.c.entity == "notes")))
    assert channels == {"public"}


async def test_cross_origin_posts_are_refused_before_the_route_runs(site, anyio_backend):
    async with client_for(create_app(site=site), origin="https://evil.example") as evil:
        refused = await evil.post("/public/acme/quote", json={"title": "x"})
    assert refused.status_code == 403
    assert site.records.list(Actor.system(), "notes").items == []


async def test_a_disabled_plugin_s_public_routes_answer_404(site, anyio_backend):
    app = create_app(site=site)
    async with client_for(app) as client:
        assert (await client.get("/public/acme/hello")).status_code == 200
        disable_plugin(site, Actor.system("cli"), "acme")
        assert (await client.get("/public/acme/hello")).status_code == 404
        assert (await client.get("/public/nobody/hello")).status_code == 404


async def test_public_bodies_are_capped(site, anyio_backend):
    async with client_for(create_app(site=site)) as client:
        answer = await client.post("/public/acme/quote", content=b"x" * (PUBLIC_BYTES + 1), headers={"Content-Type": "application/json"})
    assert answer.status_code == 413
    assert site.records.list(Actor.system(), "notes").items == []


def test_public_is_a_reserved_entity_name():
    entity = Entity(name="public", label={"en": "P", "zh_CN": "P"}, label_plural={"en": "P", "zh_CN": "P"},
                    model=notes_plugin.Note, fields=notes_plugin.NoteFields)
    with pytest.raises(TypeError, match="public"):
        check_entity(entity)


def test_public_origins_must_be_origins():
    assert parse_settings({"crm": {"public_origins": ["https://Shop.Example/", "http://a.example:8080"]}}).public_origins == (
        "https://shop.example", "http://a.example:8080")
    for wrong in (["shop.example"], ["https://shop.example/form"], ["ftp://shop.example"], [3]):
        with pytest.raises(ConfigError, match="public_origins"):
            parse_settings({"crm": {"public_origins": wrong}})
