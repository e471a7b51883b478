"""The client's address: the socket's peer, unless that peer is a configured trusted proxy."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from kernel import Actor
from kernel.audit import AUDIT
from kernel.models import LoginFailure
from kernel.web import throttle
from kernel.web.app import create_app
from tests.example import plugin as notes_plugin
from tests.web import extras
from tests.web.test_auth import PASSWORD, browser, sign_in

pytestmark = pytest.mark.anyio
REPO = Path(__file__).resolve().parents[2]


def audited_ips(site, action="login"):
    with site.engine.connect() as conn:
        return list(conn.scalars(sa.select(AUDIT.c.ip).where(AUDIT.c.action == action).order_by(AUDIT.c.id)))


@pytest.fixture
def proxied(make_site):
    site = make_site(notes_plugin, extras, trusted_proxies=("10.0.0.0/8", "::1"))
    site.records.create(Actor.system("cli"), "users", {"email": "rep@example.com", "password": PASSWORD, "role": "sales_rep"})
    return site


async def test_a_trusted_proxy_names_the_client_and_the_scheme(proxied):
    app = create_app(site=proxied)
    async with browser(app, ip="10.0.0.5") as client:
        headers = {"X-Forwarded-For": "6.6.6.6, 203.0.113.9, 10.1.1.1", "X-Forwarded-Proto": "https"}
        response = await sign_in(client, "rep@example.com", headers=headers)
        assert response.status_code == 200 and "secure" in response.headers["set-cookie"].lower()
    async with browser(app, ip="10.0.0.5") as client:
        await sign_in(client, "rep@example.com", headers={"X-Forwarded-For": "<script>, 203.0.113.10"})
        await sign_in(client, "rep@example.com", headers={"X-Forwarded-For": "203.0.113.11, not-an-ip"})
    assert audited_ips(proxied) == ["203.0.113.9", "203.0.113.10", "10.0.0.5"]


async def test_anyone_else_cannot_choose_their_address(proxied):
    app = create_app(site=proxied)
    for attempt in range(throttle.IP_LIMIT):
        async with browser(app, ip="198.51.100.7") as client:
            spoofed = {"X-Forwarded-For": f"192.0.2.{attempt}", "X-Forwarded-Proto": "https"}
            assert (await sign_in(client, f"nobody{attempt}@example.com", "guess", headers=spoofed)).status_code == 401
    async with browser(app, ip="198.51.100.7") as client:
        assert (await sign_in(client, "rep@example.com", headers={"X-Forwarded-For": "192.0.2.200"})).status_code == 429
    assert set(audited_ips(proxied, "login_failed")) == {"198.51.100.7"}
    with proxied.engine.connect() as conn:
        assert set(conn.scalars(sa.select(LoginFailure.__table__.c.ip))) == {"198.51.100.7"}


async def test_without_trusted_proxies_forwarded_headers_are_ignored(site, rep_user):
    app = create_app(site=site)
    async with browser(app, ip="127.0.0.1") as client:
        response = await sign_in(client, rep_user["email"], headers={"X-Forwarded-For": "1.2.3.4", "X-Forwarded-Proto": "https"})
        assert response.status_code == 200 and "secure" not in response.headers["set-cookie"].lower()
    assert audited_ips(site) == ["127.0.0.1"]


def free_port() -> int:
    for port in range(15000, 15100):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise RuntimeError("no free port in 15000-15099")


def test_crm_serve_does_not_let_a_local_caller_spoof_its_address(tmp_path):
    """End to end: uvicorn believed X-Forwarded-For from 127.0.0.1 by default; ``crm serve`` does not."""
    config = tmp_path / "crm.toml"
    config.write_text(f'[crm]\ndatabase_url = "sqlite:///{tmp_path / "crm.db"}"\nplugins = []\n', encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO), "CRM_CONFIG": str(config)}
    crm = [sys.executable, "-c", "from kernel.cli import main; main()"]
    subprocess.run([*crm, "init", "--admin-email", "boss@example.com", "--admin-password", "boss-passphrase"], env=env, check=True, capture_output=True)
    port = free_port()
    server = subprocess.Popen([*crm, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        body = {"email": "boss@example.com", "password": "wrong-passphrase"}
        answer = httpx.post(f"http://127.0.0.1:{port}/api/v1/auth/token", json=body, headers={"X-Forwarded-For": "1.2.3.4"})
        assert answer.status_code == 401
    finally:
        server.terminate()
        server.wait(timeout=10)
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'crm.db'}")
    with engine.connect() as conn:
        assert list(conn.scalars(sa.select(AUDIT.c.ip).where(AUDIT.c.action == "login_failed"))) == ["127.0.0.1"]
    engine.dispose()
