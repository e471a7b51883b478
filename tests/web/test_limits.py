"""Request body caps per route (:mod:`kernel.web.limits`): refused early with 413, never read or stored."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from kernel.models import LoginFailure
from kernel.web.app import create_app
from kernel.web.limits import AUTH_BYTES, DEFAULT_BYTES
from tests.web.conftest import http_client

pytestmark = pytest.mark.anyio


def chunks(total: int, size: int = 64 * 1024):
    """A body sent without a Content-Length (chunked), ``total`` bytes of one long JSON string."""

    async def body():
        yield b'{"title": "'
        sent = 0
        while sent < total:
            yield b"x" * size
            sent += size
        yield b'"}'

    return body()


async def test_a_huge_email_to_the_token_route_is_refused_unread_and_not_stored(site, anon):
    email = "a" * (3 * 2**20) + "@example.com"
    response = await anon.post("/api/v1/auth/token", json={"email": email, "password": "x"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large" and f"{AUTH_BYTES:,} bytes" in response.json()["error"]["message"]
    with site.engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(LoginFailure)) == 0
    assert (await anon.post("/api/v1/auth/token", json={"email": "x@example.com", "password": "wrong-pass"})).status_code == 401


async def test_api_bodies_are_capped_by_length_and_while_streaming(client):
    big = json.dumps({"title": "x" * (DEFAULT_BYTES + 10)})
    announced = await client.post("/api/v1/notes", content=big, headers={"Content-Type": "application/json"})
    assert announced.status_code == 413 and announced.json()["error"]["code"] == "payload_too_large"
    streamed = await client.post("/api/v1/notes", content=chunks(DEFAULT_BYTES + 1), headers={"Content-Type": "application/json"})
    assert streamed.status_code == 413 and streamed.json()["error"]["code"] == "payload_too_large"
    streamed_auth = await client.post("/api/v1/auth/token", content=chunks(AUTH_BYTES), headers={"Content-Type": "application/json"})
    assert streamed_auth.status_code == 413
    fine = await client.post("/api/v1/notes", content=chunks(100, size=50), headers={"Content-Type": "application/json"})
    assert fine.status_code == 201
    lying = await client.post("/api/v1/notes", content=b"{}", headers={"Content-Type": "application/json", "Content-Length": "-1"})
    assert lying.status_code in (400, 413)


async def test_ui_forms_get_a_page_in_both_languages(anon):
    response = await anon.post("/login", data={"email": "x" * (AUTH_BYTES + 1), "password": "x"})
    assert response.status_code == 413 and "text/html" in response.headers["content-type"]
    assert "Request too large" in response.text and "请求过大" in response.text and "16 KB" in response.text


async def test_the_import_upload_takes_files_up_to_its_setting(make_site, anyio_backend):
    from tests.example import plugin as notes_plugin

    site = make_site(notes_plugin, import_max_bytes=3 * 2**20)
    async with http_client(create_app(site=site)) as anon:
        # over the 1 MB default, within the import's cap: reaches the page (which asks for a sign-in)
        upload = await anon.post("/r/notes/import", files={"file": ("a.csv", b"title\n" + b"x" * (2 * 2**20), "text/csv")})
        assert upload.status_code != 413
        over = await anon.post("/r/notes/import", files={"file": ("a.csv", b"x" * (5 * 2**20), "text/csv")})
        assert over.status_code == 413
        elsewhere = await anon.post("/r/notes/new", files={"file": ("a.csv", b"x" * (2 * 2**20), "text/csv")})
        assert elsewhere.status_code == 413
