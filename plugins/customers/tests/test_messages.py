"""Refusals in the reader's language: field errors name the field by its label, kernel and plugin refusals
come from the catalogs; the API keeps ``code`` and ``loc`` whatever the language."""

from __future__ import annotations

import re
from html import unescape

import pytest

from .conftest import SYSTEM


ZH = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}
EN = {"Accept-Language": "en-US,en;q=0.9"}


@pytest.fixture
def amount(people, http):
    admin = http(people["admin"])
    for name, schema, label in (
        ("amount", {"type": "number", "format": "money"}, {"en": "Amount", "zh_CN": "金额"}),
        ("grade", {"type": "string", "enum": ["A", "B", "C"]}, {"en": "Grade", "zh_CN": "等级"}),
    ):
        added = admin.post("/api/v1/meta/entities/customers/fields", json={"name": name, "schema": schema, "label": label})
        assert added.status_code == 201, added.text


CASES = [  # body, loc, Chinese, English
    ({"name": ""}, ["name"], "名称 不能为空", "Name is required"),
    ({"name": "ACME", "email": "nope"}, ["email"], "邮箱 不是有效的邮箱地址", "Email is not a valid email address"),
    ({"name": "ACME", "level": "E"}, ["level"], "级别 必须是 A 类（重点）、B 类（重要）、C 类（普通）、D 类（一般） 之一",
     "Level must be one of A – key account, B – important, C – regular, D – occasional"),  # an option list's labels
    ({"name": "ACME", "custom": {"amount": "12.345"}}, ["custom", "amount"], "金额 的小数位数超出了币种允许的位数", "Amount has more decimals than the currency allows"),
    ({"name": "ACME", "custom": {"amount": "twelve"}}, ["custom", "amount"], "金额 不是有效的金额", "Amount is not a valid amount"),
    ({"name": "ACME", "custom": {"grade": "D"}}, ["custom", "grade"], "等级 必须是 A、B、C 之一", "Grade must be one of A, B, C"),
]


@pytest.mark.parametrize(("body", "loc", "chinese", "english"), CASES)
def test_api_field_errors_speak_the_callers_language(site, people, http, amount, body, loc, chinese, english):
    client = http(people["rep"])
    zh = client.post("/api/v1/customers", json=body, headers=ZH)
    en = client.post("/api/v1/customers", json=body, headers=EN)
    for answer in (zh, en):
        assert answer.status_code == 422 and answer.json()["error"]["code"] == "validation_error"
        assert [d["loc"] for d in answer.json()["error"]["details"]] == [loc]
        assert set(answer.json()["error"]["details"][0]) == {"loc", "msg"}  # no private keys leak
    assert zh.json()["error"]["message"] == chinese and zh.json()["error"]["details"][0]["msg"] == chinese
    assert en.json()["error"]["message"] == english


def test_without_a_language_the_user_preference_decides(site, people, http):
    client = http(people["rep"])
    plain = client.post("/api/v1/customers", json={"name": ""})
    assert plain.json()["error"]["details"][0]["msg"] == "String should have at least 1 character"  # the API's own English
    assert client.request("PUT", "/api/v1/auth/preferences", json={"locale": "zh_CN"}).status_code == 200
    preferred = client.post("/api/v1/customers", json={"name": ""})
    assert preferred.json()["error"]["message"] == "名称 不能为空"
    assert client.post("/api/v1/customers", json={"name": ""}, headers=EN).json()["error"]["message"] == "Name is required"


def test_kernel_refusals_are_translated(site, people, http):
    client = http(people["admin"])
    me = people["admin"].user_id
    zh = client.patch(f"/api/v1/users/{me}", json={"active": False}, headers=ZH)
    assert zh.status_code == 422 and zh.json()["error"]["details"][0]["loc"] == ["active"]
    assert zh.json()["error"]["message"] == "不能停用自己的账号"
    en = client.patch(f"/api/v1/users/{me}", json={"active": False}, headers=EN)
    assert en.json()["error"]["message"] == "you cannot deactivate your own account"
    missing = client.get("/api/v1/customers/999999", headers=ZH)
    assert missing.status_code == 404 and missing.json()["error"]["message"] == "没有编号为 999999 的客户记录"


PASSWORD = "s3cret-pass"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def signed_in(site, people, who: str, locale: str):
    from starlette.testclient import TestClient

    from kernel.testing import create_app

    site.records.update(SYSTEM, "users", people[who].user_id, {"password": PASSWORD})
    client = TestClient(create_app(site=site), follow_redirects=False)
    client.cookies.set("crm_locale", locale)
    token = CSRF.search(client.get("/login").text).group(1)
    assert client.post("/login", data={"email": f"{who}@example.com", "password": PASSWORD, "next": "/", "csrf_token": token}).status_code == 303
    return client, CSRF.search(client.get("/").text).group(1)


def field_errors(html: str) -> list[str]:
    return [unescape(text) for text in re.findall(r'<p class="error" id="[^"]*">([^<]*)</p>', html)]


@pytest.mark.parametrize(("locale", "expected"), [
    ("zh_CN", ["名称 不能为空", "邮箱 不是有效的邮箱地址"]),
    ("en", ["Name is required", "Email is not a valid email address"]),
])
def test_form_pages_show_the_message_next_to_its_field(site, people, locale, expected):
    client, token = signed_in(site, people, "rep", locale)
    answer = client.post("/r/customers/new", data={"csrf_token": token, "name": "", "email": "nope", "kind": "company", "status": "potential"})
    assert answer.status_code == 422
    assert sorted(field_errors(answer.text)) == sorted(expected)


@pytest.mark.parametrize(("locale", "expected"), [("zh_CN", "不能停用自己的账号"), ("en", "you cannot deactivate your own account")])
def test_admin_pages_show_kernel_refusals_translated(site, people, locale, expected):
    client, token = signed_in(site, people, "admin", locale)
    answer = client.post("/admin/users", data={"csrf_token": token, "id": str(people["admin"].user_id), "op": "deactivate"})
    assert expected in unescape(answer.text)
