"""The pipeline's pages of the demo, as an admin and as a sales rep, in both languages: no English
message on a Chinese page, no Chinese outside user data on an English page, no raw codes (kernel.pagescan).
The scan starts at this plugin's pages and judges those (the kernel's admin pages it reaches are the
kernel's scan's business)."""

from __future__ import annotations

import pytest

from kernel.testing import page_clients, scan_pages, seed_demo

from .support import required_plugins

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
PEOPLE = {"admin": "admin@example.com", "rep": "li.na@example.com"}
START = ("/p/pipeline/board", "/p/pipeline/rotting", "/r/opportunities", "/p/pipeline/pipelines")
OURS = ("/p/pipeline", "/r/opportunities", "/r/pipelines")


@pytest.fixture
def demo_site(make_site):
    site = make_site(*required_plugins(), default_locale="en")
    seed_demo(site)
    return site


@pytest.mark.parametrize("who", list(PEOPLE))
@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_the_pipeline_pages_speak_one_language(demo_site, who, locale):
    client = page_clients(demo_site)(PEOPLE[who], locale=locale, timezone="Asia/Shanghai", follow_redirects=True).client
    read, findings = scan_pages(client, demo_site, locale, start=START, per_shape=1, limit=40)
    assert {"/p/pipeline/board", "/p/pipeline/rotting", "/r/opportunities"} <= set(read)
    ours = [f for f in findings if f.path.startswith(OURS)]
    assert [f"{f.path}: {f.text!r} ({f.why})" for f in ours] == []
