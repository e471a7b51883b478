"""The column chooser keeps each user's choice (kernel.savedviews, the view named ""): the list
opens with those columns next time, for that user only, until they go back to the defaults."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from kernel import Actor, fielddefs, savedviews
from kernel.models import AuditEntry
from kernel.web.app import create_app
from tests.example import plugin as notes_plugin
from tests.web.test_ui import add_user, signed_in

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
SYSTEM = Actor.system("cli")


@pytest.fixture
def site(make_site):
    site = make_site(notes_plugin, default_locale="en")
    fielddefs.add_field(site, SYSTEM, "notes", "rating", {"type": "string", "enum": ["hot", "warm", "cold"]}, label={"en": "Rating", "zh_CN": "评级"})
    for email in ("ann@example.com", "bob@example.com"):
        user = add_user(site, email, "sales_rep")
        site.records.create(SYSTEM, "notes", {"title": "x marks the spot", "owner_id": user["id"]})
    return site


def column_labels(page: str) -> list[str]:
    head = page[page.index("<thead"):page.index("</thead>")]
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>|[↕▲▼]", "", cell)).strip() for cell in re.findall(r"<th[^>]*>(.*?)</th>", head, re.S)]


def test_applied_columns_are_the_users_default_next_time(site):
    app = create_app(site=site)
    ann, token = signed_in(app, "ann@example.com")
    before = column_labels(ann.get("/r/notes").text)
    assert "Due" in before and "Rating" in before
    chooser = ann.get("/r/notes?q=x").text
    assert re.search(r'<form method="post" action="/r/notes/columns\?q=x" class="columns-form">', chooser)
    answer = ann.post("/r/notes/columns?q=x&page=3", data={"csrf_token": token, "cols": ["title", "custom.rating", "priority"]})
    assert answer.status_code == 303 and answer.headers["location"] == "/r/notes?q=x"
    again = column_labels(ann.get("/r/notes").text)
    assert again[1:4] == ["Title", "Rating", "Priority"] and "Due" not in again
    assert "Due" in column_labels(ann.get("/r/notes?cols=title,due").text)  # an address (a saved view) still wins
    bob, _ = signed_in(app, "bob@example.com")
    assert column_labels(bob.get("/r/notes").text) == before  # another user's list is theirs
    assert savedviews.list_views(site, Actor(user_id=site.records.list(SYSTEM, "users", filters={"email": "ann@example.com"}).items[0]["id"], label="ann", role="sales_rep"), "notes") == []
    reset = ann.post("/r/notes/columns", data={"csrf_token": token, "reset": "1", "cols": ["title"]})
    assert reset.status_code == 303 and column_labels(ann.get("/r/notes").text) == before
    with site.engine.connect() as conn:
        actions = list(conn.scalars(sa.select(AuditEntry.action).where(AuditEntry.entity == "saved_views").order_by(AuditEntry.id)))
    assert actions == ["create", "delete"]


def test_the_chooser_needs_the_form_token(site):
    ann, _ = signed_in(create_app(site=site), "ann@example.com")
    assert ann.post("/r/notes/columns", data={"cols": ["title"]}).status_code == 403
