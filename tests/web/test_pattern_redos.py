"""An admin's custom-field pattern never runs in Python's backtracking ``re`` on a user's value: API, UI form, import."""

from __future__ import annotations

import re

import pytest

from tests.web.test_odd_input import admin, site  # noqa: F401 - fixtures: a site with notes and customers, a signed-in admin

NASTY = "^(a+)+$"
VALUE = "a" * 30 + "!"  # minutes of backtracking in Python's re


@pytest.fixture
def guarded_re(monkeypatch):
    compile_ = re._compile

    def guarded(pattern, flags):
        assert getattr(pattern, "pattern", pattern) != NASTY, "an admin's pattern reached Python's re"
        return compile_(pattern, flags)

    monkeypatch.setattr(re, "_compile", guarded)


def test_a_nasty_pattern_is_refused_in_linear_time_through_the_api_and_the_form(admin, guarded_re):
    _, client, csrf, _ = admin
    added = client.post("/api/v1/meta/entities/notes/fields", json={"name": "code", "schema": {"type": "string", "pattern": NASTY}, "label": {"en": "Code", "zh_CN": "编码"}})
    assert added.status_code == 201, added.text
    refused = client.post("/api/v1/notes", json={"title": "x", "custom": {"code": VALUE}})
    assert refused.status_code == 422
    assert refused.json()["error"]["details"] == [{"loc": ["custom", "code"], "msg": f"'{VALUE}' does not match '{NASTY}'"}]
    assert client.post("/api/v1/notes", json={"title": "x", "custom": {"code": "aaa"}}).status_code == 201
    form = client.post("/r/notes/new", data={"csrf_token": csrf, "title": "x", "custom.code": VALUE})
    assert form.status_code == 422 and "does not match" in form.text

