"""The pipeline's pages of the demo, as an admin and as a sales rep, in both languages: no English
message on a Chinese page, no Chinese outside user data on an English page, no raw codes (kernel.pagescan).
The scan starts at this plugin's pages and judges those (the kernel's admin pages it reaches are the
kernel's scan's business)."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from kernel import Actor
from kernel.testing import create_app, scan_pages, seed_demo

from .support import required_plugins

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
PASSWORD = "s3cret-pass"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PEOPLE = {"admin": "admin@example.com", "rep": "li.na@example.com"}
START = ("/p/pipeline/board", "/p/pipeline/rotting", "/r/opportunities", "/p/pipeline/pipelines")
OURS = ("/p/pipeline", "/r/opportunities", "/r/pipelines")




@pytest.fixture
def demo_site(make_site):
    site = make_site(*required_plugins(), default_locale="en")
    seed_demo(site)
    system = Actor.system("cli")
    for email in PEOPLE.values():
        user = site.records.list(system, "users", filters={"email": email}).items[0]
        site.records.update(system, "users", user["id"], {"password": PASSWORD})
    return site


def signed_in(site, email: str, locale: str) -> TestClient:
    client = TestClient(create_app(site=site), follow_redirects=True)
    client.cookies.set("crm_locale", locale)
    client.cookies.set("crm_tz", "Asia/Shanghai")
    token = CSRF.search(client.get("/login").text).group(1)
    client.post("/login", data={"email": email, "password": PASSWORD, "next": "/", "csrf_token": token})
    return client


@pytest.mark.parametrize("who", list(PEOPLE))
@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_the_pipeline_pages_speak_one_language(demo_site, who, locale):
    client = signed_in(demo_site, PEOPLE[who], locale)
    read, findings = scan_pages(client, demo_site, locale, start=START, per_shape=1, limit=40)
    assert {"/p/pipeline/board", "/p/pipeline/rotting", "/r/opportunities"} <= set(read)
    ours = [f for f in findings if f.path.startswith(OURS)]
    assert [f"{f.path}: {f.text!r} ({f.why})" for f in ours] == []
