"""Admin and audit pages in words, in both languages: plugin and setting labels from their metadata,
kinds of field by name, and an audit log that says who did what to which record, values formatted."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timezone
from html import unescape

import pytest
from starlette.testclient import TestClient

from kernel.testing import create_app

from .conftest import SYSTEM

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
PASSWORD = "s3cret-pass"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def site(make_site):
    return make_site(plugins=("customers",), default_locale="en")


def admin_page(site, people, locale: str) -> TestClient:
    site.records.update(SYSTEM, "users", people["admin"].user_id, {"password": PASSWORD})
    client = TestClient(create_app(site=site), follow_redirects=False)
    client.cookies.set("crm_locale", locale)
    client.cookies.set("crm_tz", "Asia/Shanghai")
    token = CSRF.search(client.get("/login").text).group(1)
    assert client.post("/login", data={"email": "admin@example.com", "password": PASSWORD, "next": "/", "csrf_token": token}).status_code == 303
    return client


def text_of(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


@pytest.mark.parametrize(("locale", "words", "not_words"), [
    ("zh_CN", ["客户管理", "客户、联系人、跟进记录和任务", "核心"], ["Customers, contacts", "``", "The ``customers`` plugin"]),
    ("en", ["Customers", "Customers, contacts, follow-ups and tasks", "Core"], ["客户管理", "``"]),
])
def test_plugin_descriptions_come_from_metadata_in_the_readers_language(site, people, locale, words, not_words):
    page = text_of(admin_page(site, people, locale).get("/admin/plugins").text)
    assert all(w in page for w in words) and not any(w in page for w in not_words)


@pytest.mark.parametrize(("locale", "words", "not_words"), [
    ("zh_CN", ["查重", "流失比例", "插件 客户管理"], ["Levels", "Dedupe", "Churn ratio", "客户级别"]),  # levels: an option list now
    ("en", ["Duplicate check", "Churn ratio"], ["查重", "Dedupe", "Customer levels"]),
])
def test_setting_labels_and_descriptions_in_the_readers_language(site, people, locale, words, not_words):
    page = text_of(admin_page(site, people, locale).get("/admin/settings").text)
    assert all(w in page for w in words) and not any(w in page for w in not_words)


@pytest.mark.parametrize(("locale", "kind"), [("zh_CN", "金额"), ("en", "Money")])
def test_kinds_of_field_are_words(site, people, http, locale, kind):
    admin = http(people["admin"])
    assert admin.post("/api/v1/meta/entities/customers/fields", json={"name": "budget", "schema": {"type": "number", "format": "money"}}).status_code == 201
    page = admin_page(site, people, locale).get("/admin/fields/customers").text
    assert re.search(rf'<td data-label="[^"]+">{kind}</td>', page) and ">money<" not in page
    edit = text_of(admin_page(site, people, locale).get("/admin/fields/customers/budget/edit").text)
    assert kind in edit


@pytest.fixture
def history(site, people, http, clock):
    """The rep creates a customer with a budget; the churn job's kind of change (a boolean, a time) follows."""
    http(people["admin"]).post("/api/v1/meta/entities/customers/fields", json={
        "name": "budget", "schema": {"type": "number", "format": "money"}, "label": {"en": "Budget", "zh_CN": "预算"}})
    made = http(people["rep"]).post("/api/v1/customers", json={"name": "=ACME", "email": "buyer@acme.example", "custom": {"budget": "1234.5"}})
    assert made.status_code == 201, made.text
    customer = made.json()
    moment = datetime(2026, 1, 5, 16, 30, tzinfo=timezone.utc)  # 2026-01-06 00:30 in Shanghai
    site.records.update(people["rep"], "customers", customer["id"], {"churn_flag": True, "last_followed_at": moment.isoformat()})
    return customer


@pytest.mark.parametrize(("locale", "expected", "raw"), [
    ("zh_CN", ["Rep", "创建", "修改", "客户", "=ACME", "预算", "¥1,234.50", "流失预警", "是", "最近跟进", "2026年1月6日 00:30:00"],
     ["last_followed_at", "churn_flag", "customers #", "True", "2026-01-05T16:30"]),
    ("en", ["Rep", "Created", "Changed", "Customer", "=ACME", "Budget", "CN¥1,234.50", "Churn risk", "Yes", "Last followed up", "Jan 6, 2026, 12:30:00"],
     ["last_followed_at", "churn_flag", "customers #", "True", "2026-01-05T16:30"]),
])
def test_the_audit_log_says_who_did_what_to_which_record(site, people, history, locale, expected, raw):
    client = admin_page(site, people, locale)
    html = client.get(f"/admin/audit?entity=customers&record_id={history['id']}").text
    page = text_of(html)
    missing = [w for w in expected if w not in page]
    assert missing == []
    assert [w for w in raw if w in page] == []
    assert f'href="/r/customers/{history["id"]}">=ACME</a>' in html
    assert f'href="/r/users/{people["rep"].user_id}">Rep</a>' in html


def test_audit_filters_pick_the_person_and_the_kind_by_name(site, people, history):
    client = admin_page(site, people, "zh_CN")
    page = client.get("/admin/audit").text
    assert f'<option value="{people["rep"].user_id}" >Rep (rep@example.com)</option>' in page
    assert '<option value="customers" >客户</option>' in page
    mine = client.get(f"/admin/audit?actor_id={people['rep'].user_id}&entity=customers").text
    assert mine.count('class="audit-entry"') == 2
    assert client.get(f"/admin/audit?actor_id={people['manager'].user_id}&entity=customers").text.count('class="audit-entry"') == 0
    wrong = client.get("/admin/audit?actor_id=abc")
    assert wrong.status_code == 422 and "请从列表中选择一个人。" in wrong.text


def test_audit_csv_is_the_filtered_log_in_words_with_formulas_guarded(site, people, history):
    client = admin_page(site, people, "zh_CN")
    answer = client.get(f"/admin/audit.csv?actor_id={people['rep'].user_id}&entity=customers")
    table = list(csv.reader(io.StringIO(answer.text.lstrip("\ufeff"))))
    head, rows = table[0], table[1:]
    assert head[:3] == ["id", "at", "actor"] and head[10:] == ["时间", "操作人", "记录类型", "记录", "操作", "变更"]
    assert [r[7] for r in rows] == ["update", "create"] and {r[11] for r in rows} == {"Rep"}
    assert {r[13] for r in rows} == {"'=ACME"}  # a spreadsheet would run =ACME as a formula
    assert rows[0][14] == "修改" and "流失预警: 否 → 是" in rows[0][15]
    for cell in (c for r in rows for c in r):
        assert not cell.startswith(("=", "+", "@")) and not (cell.startswith("-") and not re.match(r"^-?\d", cell))
