"""Capture: a public form on leads sends visitors into its lead pool with the source web form; the
kernel's honeypot and per-IP limit (in the database) hold; a look-alike is flagged, never dropped;
the API sets the source api; an email becomes a lead through ``crm leads capture-mail``."""

from __future__ import annotations

import asyncio
from email.message import EmailMessage

import httpx
import pytest
from click.testing import CliRunner

from kernel.testing import cli, create_app, issue_token

from plugins.leads.capture import parse_mail

from .conftest import make_pool
from .support import SYSTEM

SELF = "http://testserver"
FORM = {
    "slug": "expo-2026", "entity": "leads", "title": {"en": "Talk to us", "zh_CN": "联系我们"},
    "fields": [{"name": "name", "label": {"en": "Your name", "zh_CN": "您的姓名"}}, {"name": "phone", "required": True},
               {"name": "company"}],
    "consent": {"en": "You may call me.", "zh_CN": "同意致电联系。"}, "per_hour": 3,
}


def call(app, method, url, *, ip="198.51.100.7", token=None, **kwargs):
    async def send():
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(ip, 5000))
        headers = {"Origin": SELF, **({"Authorization": f"Bearer {token}"} if token else {})}
        async with httpx.AsyncClient(transport=transport, base_url=SELF, headers=headers) as client:
            return await client.request(method, url, **kwargs)

    return asyncio.run(send())


@pytest.fixture
def setup(site, people):
    """The app, the admin's token, a lead pool and the form ``expo-2026`` bound to it."""
    app = create_app(site=site)
    token = issue_token(site, people["admin"].user_id)["token"]
    made = call(app, "POST", "/api/v1/meta/forms", token=token, json=FORM)
    assert made.status_code == 201, made.text
    pool = make_pool(site, people)
    bound = call(app, "PUT", "/api/v1/plugins/leads/capture/forms/expo-2026", token=token, json={"pool_id": pool["id"]})
    assert bound.status_code == 200, bound.text
    return {"app": app, "token": token, "pool": pool}


def leads(site):
    return site.records.list(SYSTEM, "leads", sort="id").items


def test_a_visitor_becomes_a_lead_in_the_forms_pool_with_source_web_form(site, setup):
    answer = call(setup["app"], "POST", "/public/forms/expo-2026", json={"name": "刘洋", "phone": "13812345678", "consent": True})
    assert answer.status_code == 201, answer.text
    (lead,) = leads(site)
    assert (lead["name"], lead["source"], lead["pool_id"], lead["owner_id"]) == ("刘洋", "web_form", setup["pool"]["id"], None)
    assert lead["score"] == 30  # web form 20 + phone 10
    captured = call(setup["app"], "GET", "/api/v1/plugins/leads/captures", token=setup["token"]).json()["captures"]
    assert [(c["lead_id"], c["channel"], c["form_slug"], c["duplicates"]) for c in captured] == [(lead["id"], "web_form", "expo-2026", [])]
    forms = call(setup["app"], "GET", "/api/v1/plugins/leads/capture/forms", token=setup["token"]).json()["forms"]
    assert forms[0]["slug"] == "expo-2026" and forms[0]["captured"] == 1 and forms[0]["pool_id"] == setup["pool"]["id"]
    assert forms[0]["url"] == f"{SELF}/public/forms/expo-2026" and "?embed=1" in forms[0]["embed"]


def test_the_honeypot_stores_nothing(site, setup):
    answer = call(setup["app"], "POST", "/public/forms/expo-2026", json={"name": "bot", "phone": "13800000000", "consent": True,
                                                                          "hp_website": "http://spam.example"})
    assert answer.status_code == 201  # answers like success
    assert leads(site) == []


def test_the_per_ip_limit_is_counted_in_the_database(site, setup):
    for i in range(3):
        ok = call(setup["app"], "POST", "/public/forms/expo-2026", json={"name": f"访客{i}", "phone": f"1390000000{i}", "consent": True})
        assert ok.status_code == 201, ok.text
    refused = call(setup["app"], "POST", "/public/forms/expo-2026", json={"name": "访客3", "phone": "13900000003", "consent": True})
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limited"
    other_ip = call(setup["app"], "POST", "/public/forms/expo-2026", ip="203.0.113.9", json={"name": "访客4", "phone": "13900000004", "consent": True})
    assert other_ip.status_code == 201
    # a second app on the same database (another worker) shares the count
    second = create_app(site=site)
    assert call(second, "POST", "/public/forms/expo-2026", json={"name": "访客5", "phone": "13900000005", "consent": True}).status_code == 429
    assert len(leads(site)) == 4


def test_a_look_alike_is_flagged_not_dropped(site, setup, people):
    known = site.records.create(SYSTEM, "leads", {"name": "老客户", "phone": "13812345678"})
    answer = call(setup["app"], "POST", "/public/forms/expo-2026", json={"name": "刘洋", "phone": "138 1234 5678", "consent": True})
    assert answer.status_code == 201
    assert len(leads(site)) == 2
    flagged = call(setup["app"], "GET", "/api/v1/plugins/leads/captures?flagged=1", token=setup["token"]).json()["captures"]
    assert [c["duplicates"] for c in flagged] == [[{"entity": "leads", "id": known["id"]}]]
    # a rep of the pool sees the capture, but not the look-alike they may not read: it is counted
    rep_token = issue_token(site, people["rep"].user_id)["token"]
    seen = call(setup["app"], "GET", "/api/v1/plugins/leads/captures?flagged=1", token=rep_token).json()["captures"]
    assert [(c["duplicates"], c["hidden_duplicates"]) for c in seen] == [([], 1)]


def test_missing_required_fields_and_consent_name_the_field(site, setup):
    answer = call(setup["app"], "POST", "/public/forms/expo-2026", json={"name": "刘洋"})
    assert answer.status_code == 422
    assert {tuple(d["loc"]) for d in answer.json()["error"]["details"]} == {("body", "phone"), ("body", "consent")}
    assert leads(site) == []


def test_binding_checks_the_form_and_the_pool(site, setup, people):
    app, token = setup["app"], setup["token"]
    assert call(app, "PUT", "/api/v1/plugins/leads/capture/forms/nope", token=token, json={"pool_id": None}).status_code == 404
    wrong = call(app, "PUT", "/api/v1/plugins/leads/capture/forms/expo-2026", token=token, json={"pool_id": 999})
    assert wrong.status_code == 422 and wrong.json()["error"]["details"][0]["loc"] == ["body", "pool_id"]
    rep_token = issue_token(site, people["rep"].user_id)["token"]
    assert call(app, "PUT", "/api/v1/plugins/leads/capture/forms/expo-2026", token=rep_token, json={"pool_id": None}).status_code == 404


def test_the_api_sets_source_api_unless_sent(site, setup, people):
    token = issue_token(site, people["manager"].user_id)["token"]
    plain = call(setup["app"], "POST", "/api/v1/leads", token=token, json={"name": "接口线索", "phone": "13512345678"})
    assert plain.status_code == 201, plain.text
    assert plain.json()["source"] == "api"
    fair = call(setup["app"], "POST", "/api/v1/leads", token=token, json={"name": "展会线索", "source": "fair"})
    assert fair.json()["source"] == "fair"
    again = call(setup["app"], "POST", "/api/v1/leads", token=token, json={"name": "接口线索2", "phone": "13512345678"})
    assert again.status_code == 201 and again.json()["warnings"][0]["ids"] == [plain.json()["id"]]
    channels = [c["channel"] for c in call(setup["app"], "GET", "/api/v1/plugins/leads/captures", token=token).json()["captures"]]
    assert channels == ["api", "api", "api"]


def message(*, sender="=?utf-8?b?5byg5LiJ?= <Zhang.San@Example.com>", html=False) -> bytes:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = "leads@crm.example.com"
    mail["Subject"] = "询价：100 套软件"
    text = "您好，我们想采购 100 套。\n电话 139 1234 5678\n张三"
    if html:
        mail.set_content(f"<html><body><p>{text.replace(chr(10), '<br>')}</p><script>track()</script></body></html>", subtype="html")
    else:
        mail.set_content(text)
    return bytes(mail)


def test_parse_mail_reads_sender_subject_body_and_phone():
    parsed = parse_mail(message())
    assert parsed["name"] == "张三" and parsed["email"] == "zhang.san@example.com"
    assert parsed["subject"] == "询价：100 套软件" and "采购 100 套" in parsed["body"]
    assert parsed["phone"] == "+8613912345678"
    html = parse_mail(message(html=True))
    assert "采购 100 套" in html["body"] and "<p>" not in html["body"]
    bare = parse_mail(message(sender="no-name@example.com"))
    assert bare["name"] == "no-name"
    from kernel import ValidationError

    with pytest.raises(ValidationError) as refused:
        parse_mail(b"Subject: hi\n\nno sender\n")
    assert refused.value.details[0]["loc"] == ["mail", "From"]


def test_capture_mail_from_the_cli(site, people, tmp_path):
    pool = make_pool(site, people)
    existing = site.records.create(SYSTEM, "leads", {"name": "张三", "email": "zhang.san@example.com"})
    eml = tmp_path / "lead.eml"
    eml.write_bytes(message())
    config = tmp_path / "crm.toml"
    config.write_text(f'[crm]\ndatabase_url = "{site.settings.database_url}"\nplugins = ["customers", "pools", "leads"]\n', encoding="utf-8")
    result = CliRunner().invoke(cli(), ["--config", str(config), "leads", "capture-mail", str(eml), "--pool", str(pool["id"])])
    assert result.exit_code == 0, result.output
    assert f"#{existing['id']}" in result.output  # flagged, still created
    lead = leads(site)[-1]
    assert (lead["name"], lead["email"], lead["phone"], lead["pool_id"]) == ("张三", "zhang.san@example.com", "+8613912345678", pool["id"])
    assert lead["notes"].startswith("询价：100 套软件")
    assert lead["source"] == "email"
    empty = tmp_path / "empty.eml"
    empty.write_bytes(b"")
    refused = CliRunner().invoke(cli(), ["--config", str(config), "leads", "capture-mail", str(empty)])
    assert refused.exit_code == 1 and "crm: error:" in refused.output
    stdin = CliRunner().invoke(cli(), ["--config", str(config), "leads", "capture-mail", "-"], input=message(sender="李四 <li.si@example.com>"))
    assert stdin.exit_code == 0, stdin.output
    assert leads(site)[-1]["email"] == "li.si@example.com"


@pytest.mark.parametrize(("locale", "words"), [
    ("zh_CN", ["线索采集", "联系我们", "按分配规则", "最新采集的线索", "网页表单", "疑似重复"]),
    ("en", ["Lead capture", "Talk to us", "By the routing rules", "Newest captured leads", "Web form", "Looks like"]),
])
def test_the_capture_page_in_both_languages(site, setup, people, locale, words):
    from kernel.testing import page_clients, scan_pages, text_of

    site.records.create(SYSTEM, "leads", {"name": "老客户", "phone": "13812345678"})
    call(setup["app"], "POST", "/public/forms/expo-2026", json={"name": "刘洋", "phone": "13812345678", "consent": True})
    sign_in = page_clients(site)
    client, token = sign_in(people["manager"])
    client.cookies.set("crm_locale", locale)
    page = client.get("/p/leads/capture")
    assert page.status_code == 200
    text = text_of(page.text)
    for word in words:
        assert word in text, word
    assert "/public/forms/expo-2026?embed=1" in page.text
    moved = client.post("/p/leads/capture/expo-2026", data={"csrf_token": token, "pool_id": ""})
    assert moved.status_code == 303
    forms = call(setup["app"], "GET", "/api/v1/plugins/leads/capture/forms", token=setup["token"]).json()["forms"]
    assert forms[0]["pool_id"] is None
    _paths, findings = scan_pages(client, site, locale, start=["/p/leads/capture"], limit=12)
    assert [f for f in findings if f.path.startswith("/p/leads/") and f.text not in ("Manager", "Rep", "Rep2")] == [], findings
    rep, _ = sign_in(people["rep"])
    assert rep.get("/p/leads/capture").status_code == 404
