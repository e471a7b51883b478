"""The import page over HTTP: upload with CSRF, columns and report, confirm, result; who may import."""

from __future__ import annotations

import gc
import html
import re
import warnings
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from kernel import Actor, fielddefs, tasks
from kernel.models import AuditEntry
from kernel.web.app import create_app
from kernel.web.ui.import_views import UPLOADS, Uploads

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
SYSTEM = Actor.system("cli")
PASSWORD = "s3cret-pass"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
CSV = "名称,电话,评级\n甲公司,13800000001,热\n乙公司,13800000002,warm\n老客户二号,13800000009,\n".encode("utf-8-sig")


@pytest.fixture
def site(make_site):
    site = make_site(plugins=("customers",), default_locale="en")
    fielddefs.add_field(
        site, SYSTEM, "customers", "rating", {"type": "string", "enum": ["hot", "warm"], "x-labels": {"hot": {"en": "Hot", "zh_CN": "热"}}},
        label={"en": "Rating", "zh_CN": "评级"},
    )
    return site


@pytest.fixture
def app(site):
    return create_app(site=site)


def kept(site) -> int:
    with site.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(UPLOADS)).scalar_one()


def signed_in(app: Any, site: Any, email: str, role: str) -> tuple[TestClient, str]:
    site.records.create(SYSTEM, "users", {"email": email, "password": PASSWORD, "role": role})
    client = TestClient(app, follow_redirects=False)
    token = CSRF.search(client.get("/login").text).group(1)
    response = client.post("/login", data={"email": email, "password": PASSWORD, "next": "/", "csrf_token": token})
    assert response.status_code == 303, response.text
    return client, CSRF.search(client.get("/").text).group(1)


@pytest.fixture
def admin(app, site):
    return signed_in(app, site, "admin@example.com", "admin")


def upload(client: TestClient, token: str, data: bytes, name: str = "customers.csv") -> Any:
    return client.post("/r/customers/import", data={"csrf_token": token}, files={"file": (name, data, "text/csv")})


def work(site: Any) -> None:
    """What a worker does between two requests: run the queued tasks (the check, the import)."""
    tasks.run_due_tasks(site)


def checked(client: TestClient, site: Any, url: str) -> Any:
    """The review page once its check (a background task) has run."""
    first = client.get(url)
    assert first.status_code == 200, first.text
    work(site)
    return client.get(url)


def import_now(client: TestClient, site: Any, url: str, fields: dict[str, Any]) -> Any:
    """Start the import (a task), let the worker run it, and show its page."""
    started = client.post(url, data={**fields, "action": "import"})
    if started.status_code != 303:
        return started
    assert re.fullmatch(r"/r/customers/import/tasks/\d+", started.headers["location"])
    work(site)
    return client.get(started.headers["location"])


def names(site: Any) -> list[str]:
    return sorted(c["name"] for c in site.records.list(SYSTEM, "customers").items)


def text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def selected(page: str, index: int) -> str | None:
    select = re.search(rf'<select id="col-{index}" name="col\.{index}".*?</select>', page, re.S).group(0)
    chosen = re.search(r'<option value="([^"]*)" selected>', select)
    return chosen.group(1) if chosen else None


def test_the_list_offers_import_only_to_those_who_may_create(app, site, admin):
    client, _ = admin
    assert 'href="/r/customers/import"' in client.get("/r/customers").text
    executive, _ = signed_in(app, site, "boss@example.com", "executive")
    assert 'href="/r/customers/import"' not in executive.get("/r/customers").text
    assert executive.get("/r/customers/import").status_code == 403


def test_upload_check_and_import(site, admin):
    old = site.records.create(SYSTEM, "customers", {"name": "老客户", "phone": "13800000009"})
    client, token = admin
    form = client.get("/r/customers/import")
    assert form.status_code == 200 and 'enctype="multipart/form-data"' in form.text and CSRF.search(form.text)

    sent = upload(client, token, CSV)
    assert sent.status_code == 303
    review_url = sent.headers["location"]
    assert re.fullmatch(r"/r/customers/import/[A-Za-z0-9_-]{32}", review_url)
    waiting = client.get(review_url)
    assert waiting.status_code == 200 and "Checking every row" in text(waiting.text) and 'id="import-progress"' in waiting.text
    assert re.search(r'value="import" class="btn btn-primary" disabled', waiting.text)  # not before the check
    work(site)
    review = client.get(review_url)
    assert review.status_code == 200
    assert [selected(review.text, i) for i in range(3)] == ["name", "phone", "custom.rating"]
    shown = text(review.text)
    assert "3 rows (CSV, UTF-8)" in shown and "甲公司" in shown  # the first rows
    assert f"Row 4 : looks like 老客户 (#{old['id']})" in shown
    assert "Import 2 records" in shown and names(site) == ["老客户"]  # checked, nothing saved

    done = import_now(client, site, review_url, {"csrf_token": token, "col.0": "name", "col.1": "phone", "col.2": "custom.rating", "on_duplicate": "skip"})
    assert done.status_code == 200
    assert "Imported 2 records." in text(done.text) and 'href="/r/customers"' in done.text
    assert names(site) == ["乙公司", "甲公司", "老客户"]
    assert {c["name"]: c["custom"] for c in site.records.list(SYSTEM, "customers").items}["甲公司"] == {"rating": "hot"}
    with site.engine.connect() as conn:
        channels = set(conn.scalars(sa.select(AuditEntry.channel).where(AuditEntry.entity == "customers", AuditEntry.record_id != old["id"])))
    assert channels == {"import"}
    gone = client.get(review_url)
    assert gone.status_code == 404 and "no longer available" in gone.text


def test_an_uploaded_files_temporary_copy_is_closed_when_the_page_answers(site, admin):
    client, token = admin
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always", ResourceWarning)
        assert upload(client, token, CSV).status_code == 303
        assert upload(client, token, b"", "empty.csv").status_code == 422  # refused: closed all the same
        gc.collect()
    assert [str(w.message) for w in seen if issubclass(w.category, ResourceWarning)] == []


def test_posts_without_the_csrf_token_are_refused(site, admin):
    client, token = admin
    refused = client.post("/r/customers/import", files={"file": ("c.csv", CSV, "text/csv")})
    assert refused.status_code == 403
    review_url = upload(client, token, CSV).headers["location"]
    checked(client, site, review_url)
    refused = client.post(review_url, data={"col.0": "name", "action": "import"})
    assert refused.status_code == 403 and names(site) == []


def test_an_unknown_column_must_be_chosen_or_left_out(site, admin):
    client, token = admin
    review_url = upload(client, token, "客户称呼,备注\n甲公司,x\n".encode()).headers["location"]
    review = client.get(review_url)
    assert "Some columns match no field" in review.text and selected(review.text, 0) == ""
    assert re.search(r'value="import" class="btn btn-primary" disabled', review.text)
    not_chosen = client.post(review_url, data={"csrf_token": token, "col.0": "", "col.1": "-", "action": "import"})
    assert not_chosen.status_code == 422 and names(site) == []
    rechecked = client.post(review_url, data={"csrf_token": token, "col.0": "name", "col.1": "-", "action": "check"})
    assert rechecked.status_code == 303 and rechecked.headers["location"] == review_url  # the page polls, then reloads: a GET
    checking = client.get(review_url)
    assert selected(checking.text, 0) == "name" and selected(checking.text, 1) == "-" and "/progress" in checking.text
    work(site)
    assert selected(client.get(review_url).text, 0) == "name"  # the chosen columns stay with the upload
    done = import_now(client, site, review_url, {"csrf_token": token, "col.0": "name", "col.1": "-"})
    assert done.status_code == 200 and names(site) == ["甲公司"]


def test_invalid_rows_block_the_import_unless_skipped(site, admin):
    client, token = admin
    review_url = upload(client, token, "名称,电话\n好公司,13800000001\n坏公司,oops\n".encode()).headers["location"]
    review = checked(client, site, review_url)
    shown = text(review.text)
    assert "1 row is invalid, so nothing will be imported." in shown and "Row 3 · 电话: is not a phone number" in shown
    fields = {"csrf_token": token, "col.0": "name", "col.1": "phone"}
    assert import_now(client, site, review_url, fields).status_code == 422 and names(site) == []
    assert client.post(review_url, data={**fields, "skip_invalid": "1", "action": "check"}).status_code == 303
    work(site)
    done = import_now(client, site, review_url, {**fields, "skip_invalid": "1"})
    assert done.status_code == 200 and "Imported 1 record." in text(done.text) and names(site) == ["好公司"]


def test_an_upload_belongs_to_its_user_and_bad_files_are_explained(app, site, admin):
    client, token = admin
    review_url = upload(client, token, CSV).headers["location"]
    other, _ = signed_in(app, site, "manager@example.com", "sales_manager")
    assert other.get(review_url).status_code == 404
    assert client.get("/r/customers/import/" + "x" * 31).status_code == 404
    assert client.get("/r/customers/import/..%2F..%2Fetc%2Fpasswd").status_code == 404

    unreadable = upload(client, token, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 64, "old.xls")
    assert unreadable.status_code == 422 and "save it as .xlsx or CSV" in unreadable.text
    empty = client.post("/r/customers/import", data={"csrf_token": token}, files={"file": ("", b"", "text/csv")})
    assert empty.status_code == 422 and "Choose a CSV or Excel (.xlsx) file." in empty.text


def test_bombs_and_doctypes_are_refused_with_the_limit_named(site, admin):
    from tests.test_filereading import with_doctype

    client, token = admin
    doctype = upload(client, token, with_doctype("<!DOCTYPE x>"), "doc.xlsx")
    assert doctype.status_code == 422 and "DOCTYPE" in html.unescape(doctype.text)
    wide = upload(client, token, b",".join(b"c%d" % i for i in range(1_000_000)) + b"\nx\n", "wide.csv")
    assert wide.status_code == 422 and "more than 500 columns" in wide.text and len(wide.text) < 100_000
    assert kept(site) == 0


def test_the_review_page_keeps_its_dry_run_instead_of_running_it_per_view(site, admin, monkeypatch):
    from kernel import importing

    runs = []
    real = importing.import_rows
    monkeypatch.setattr(importing, "import_rows", lambda *a, **k: runs.append(k["dry_run"]) or real(*a, **k))
    client, token = admin
    review_url = upload(client, token, CSV).headers["location"]
    first = checked(client, site, review_url)
    second = client.get(review_url)
    work(site)
    assert runs == [True]
    assert text(first.text) == text(second.text) and "Import 3 records" in text(second.text)
    fields = {"csrf_token": token, "col.0": "name", "col.1": "-", "col.2": "custom.rating", "action": "check"}
    rechecked = client.post(review_url, data=fields)
    work(site)
    assert runs == [True, True] and rechecked.status_code == 303  # other columns: checked again
    client.get(review_url)
    work(site)
    assert runs == [True, True]
    done = import_now(client, site, review_url, fields)
    assert runs == [True, True] and "Imported 3 records." in text(done.text)  # the import itself is batched, never a dry run


def test_uploads_expire_after_an_hour_and_one_per_user_is_kept(site, admin, clock):
    client, token = admin
    first = upload(client, token, CSV).headers["location"]
    second = upload(client, token, CSV).headers["location"]
    assert client.get(first).status_code == 404 and client.get(second).status_code == 200
    assert kept(site) == 1
    clock.advance(minutes=61)
    assert client.get(second).status_code == 404
    upload(client, token, CSV)  # a new upload sweeps the expired one
    assert kept(site) == 1


def test_uploads_are_kept_in_the_database_for_every_worker(site, admin, monkeypatch):
    from kernel.web.ui import import_views

    client, token = admin
    review = upload(client, token, CSV).headers["location"]
    other_worker = TestClient(create_app(site=site), follow_redirects=False)  # same database, another app
    other_worker.cookies.update(client.cookies)
    assert other_worker.get(review).status_code == 200
    with site.engine.connect() as conn:
        row = conn.execute(sa.select(UPLOADS.c.token_hash, UPLOADS.c.filename)).one()
    assert review.rsplit("/", 1)[1] not in row.token_hash and len(row.token_hash) == 64
    monkeypatch.setattr(import_views, "MAX_KEPT_BYTES", 10)
    assert Uploads(site).keep(1, "customers", "x.csv", b"x" * 11) is None


def test_the_page_speaks_chinese(site, admin):
    client, token = admin
    client.cookies.set("crm_locale", "zh_CN")
    page = client.get("/r/customers/import")
    assert "导入客户" in page.text and "上传并检查" in page.text
    review = client.get(upload(client, token, CSV).headers["location"])
    assert "第 A 列：名称" in text(review.text) and "不导入该列" in review.text


def test_the_mapping_lists_labels_hides_system_fields_and_matches_other_crms_headers(site, admin):
    client, token = admin
    client.cookies.set("crm_locale", "zh_CN")
    exported = "客户名称,联系电话,客户来源,流失预警\n甲公司,13800000001,展会,否\n".encode("utf-8-sig")
    review = client.get(upload(client, token, exported).headers["location"])
    assert review.status_code == 200
    assert [selected(review.text, i) for i in range(4)] == ["name", "phone", "source", "-"]
    select = re.search(r'<select id="col-0".*?</select>', review.text, re.S).group(0)
    options = re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select)
    labels = dict(options)
    assert labels["name"] == "名称" and labels["phone"] == "电话" and labels["source"] == "来源"
    assert not {"churn_flag", "churn_reason", "churn_flagged_at"} & set(labels)
    assert not any("(" in label for label in labels.values())  # no raw field names
    assert "由系统设置，不导入。" in re.search(r'id="col-3-hint".*?</p>', review.text, re.S).group(0)


@pytest.mark.parametrize(("locale", "looks_like", "name_label", "phone_label"), [("zh_CN", "疑似重复", "名称", "电话"), ("en", "looks like", "Name", "Phone")])
def test_the_review_names_duplicates_and_offers_labels_without_system_fields(app, site, locale, looks_like, name_label, phone_label):
    """Issue 16, observation 4, in both languages: a duplicate is named (not just "#1"); the
    mapping offers fields by their labels and no system fields."""
    old = site.records.create(SYSTEM, "customers", {"name": "老客户", "phone": "13800000009"})
    site.records.create(SYSTEM, "users", {"email": "ann@example.com", "password": PASSWORD, "role": "admin"})
    client = TestClient(app, follow_redirects=False)
    client.cookies.set("crm_locale", locale)
    token = CSRF.search(client.get("/login").text).group(1)
    client.post("/login", data={"email": "ann@example.com", "password": PASSWORD, "next": "/", "csrf_token": token})
    token = CSRF.search(client.get("/").text).group(1)
    review = checked(client, site, upload(client, token, CSV).headers["location"]).text  # the check is a background task
    assert f"{looks_like} 老客户 (#{old['id']})" in text(review)
    choices = dict(re.findall(r'<option value="([^"]+)"[^>]*>([^<]+)</option>', re.search(r'<select id="col-0".*?</select>', review, re.S).group(0)))
    assert choices["name"] == name_label and choices["phone"] == phone_label
    assert not {"churn_flag", "churn_reason", "churn_flagged_at"} & set(choices)  # x-system: set by the churn job
    assert not any(re.fullmatch(r"[a-z]+(_[a-z]+)+", label) for label in choices.values())  # no raw keys shown
