"""The event delivery page: each subscriber's standing, dead letters delivered again from the page."""

from __future__ import annotations

import pytest

from kernel import Actor
from kernel.outbox import dispatch
from kernel.testing import create_app
from tests.example import plugin as notes_plugin
from tests.test_outbox import Listener
from tests.web.test_ui import add_user, signed_in

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
ADMIN = Actor(user_id=None, label="tester", role="admin", channel="api")


@pytest.fixture
def listener():
    return Listener()


def test_an_admin_sees_each_subscriber_and_delivers_a_dead_letter_again(make_site, listener):
    site = make_site(notes_plugin, listener.plugin("listener"), default_locale="en")
    app = create_app(site=site)
    add_user(site, "admin@example.com", "admin")
    client, token = signed_in(app, "admin@example.com")
    assert "No dead letters" in client.get("/admin/outbox").text

    listener.failing.add("poison")
    site.records.create(ADMIN, "notes", {"title": "poison"})
    dispatch(site, max_attempts=1)
    site.records.create(ADMIN, "notes", {"title": "waiting"})  # not dispatched yet: one commit behind
    page = client.get("/admin/outbox").text
    assert 'aria-labelledby="sub-listener"' in page and "notes.created" in page and "refused notes.created" in page
    assert 'href="/admin/outbox"' in page  # in the admin menu
    letter = dispatch_letters(site)[0]["id"]
    assert client.post(f"/admin/outbox/dead/{letter}/retry", data={"csrf_token": ""}).status_code == 403
    done = client.post(f"/admin/outbox/dead/{letter}/retry", data={"csrf_token": token, "subscriber": "listener"}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == f"/admin/outbox?retried={letter}&subscriber=listener"
    again = client.post(f"/admin/outbox/dead/{letter}/retry", data={"csrf_token": token}, follow_redirects=True)
    assert "it was delivered again already" in again.text

    listener.failing.clear()
    dispatch(site, max_attempts=1)
    assert sorted(e.changes["title"][1] for e in listener.seen if e.entity == "notes") == ["poison", "waiting"]
    assert "No dead letters" in client.get("/admin/outbox").text


def test_the_page_in_chinese_and_refused_to_a_rep(make_site, listener):
    site = make_site(notes_plugin, listener.plugin("listener"), default_locale="zh_CN")
    app = create_app(site=site)
    add_user(site, "rep@example.com", "sales_rep")
    add_user(site, "admin@example.com", "admin")
    rep, _ = signed_in(app, "rep@example.com")
    assert rep.get("/admin/outbox").status_code == 403
    admin, _ = signed_in(app, "admin@example.com")
    page = admin.get("/admin/outbox").text
    assert "事件投递" in page and "待投递的变更" in page and "没有死信" in page


def test_without_subscribers_the_page_says_so(make_site):
    site = make_site(notes_plugin, default_locale="en")
    app = create_app(site=site)
    add_user(site, "admin@example.com", "admin")
    client, _ = signed_in(app, "admin@example.com")
    assert "No plugin follows changes." in client.get("/admin/outbox").text


def dispatch_letters(site):
    from kernel.outbox import dead_letters

    return dead_letters(site)[0]
