"""The plugin's pages: the merge dialog and undo, the detail page's panel, my day, the churn list."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from kernel.testing import browse, page_clients, text_of  # noqa: F401 - fixture

from .conftest import SYSTEM

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def site(make_site):
    return make_site(plugins=("customers",), default_locale="en")


def two_acmes(site, people):
    rep = people["rep"]
    keep = site.records.create(rep, "customers", {"name": "ACME有限责任公司", "email": "info@acme.cn"})
    other = site.records.create(rep, "customers", {"name": "ACME 有限公司", "phone": "13800138000", "level": "A"})
    site.records.create(rep, "contacts", {"customer_id": other["id"], "name": "Li Lei"})
    site.records.create(rep, "followups", {"customer_id": other["id"], "method": "call", "content": "intro"})
    site.records.create(rep, "tasks", {"customer_id": other["id"], "title": "send quote"})
    return keep, other


def test_the_merge_dialog_compares_confirms_merges_and_undoes(site, people, browse):
    keep, other = two_acmes(site, people)
    client, token = browse(people["manager"])

    dialog = client.get(f"/p/customers/merge/{keep['id']}?other_id={other['id']}")
    assert dialog.status_code == 200
    shown = text_of(dialog.text)
    assert "Merge into ACME有限责任公司" in shown
    rows = dict(re.findall(r'name="pick\.(\w+)" value="(\w+)"[^>]*checked', dialog.text))
    assert rows == {"name": "this", "phone": "other", "email": "this", "level": "other"}  # the non-empty side by default
    assert "1 Contacts" in shown and "1 Follow-ups" in shown and "1 Tasks" in shown

    form = {"csrf_token": token, "other_id": str(other["id"]), "pick.name": "other", "pick.phone": "other", "pick.email": "this", "pick.level": "other"}
    unconfirmed = client.post(f"/p/customers/merge/{keep['id']}", data=form)
    assert unconfirmed.status_code == 422 and "Tick the confirmation to merge." in unconfirmed.text
    assert len(site.records.list(SYSTEM, "customers").items) == 2

    merged = client.post(f"/p/customers/merge/{keep['id']}", data={**form, "confirm": "yes"})
    assert merged.status_code == 303
    location = merged.headers["location"]
    merge_id = re.fullmatch(rf"/r/customers/{keep['id']}\?merged=(\d+)", location).group(1)
    survivor = site.records.get(SYSTEM, "customers", keep["id"])
    assert (survivor["name"], survivor["phone"], survivor["email"], survivor["level"]) == ("ACME 有限公司", "+8613800138000", "info@acme.cn", "A")
    assert [c["customer_id"] for c in site.records.list(SYSTEM, "contacts").items] == [keep["id"]]
    page = client.get(location)
    assert "Merged. Contacts, follow-ups and tasks of the other customer are now here." in page.text
    assert f'name="merge_id" value="{merge_id}"' in page.text
    panel = client.get(f"/p/customers/panel/{keep['id']}").text
    assert "ACME 有限公司 was merged into this customer" in text_of(panel) and "Undo merge" in panel

    undone = client.post(f"/p/customers/unmerge/{keep['id']}", data={"csrf_token": token, "merge_id": merge_id})
    assert undone.status_code == 303 and undone.headers["location"] == f"/r/customers/{keep['id']}?unmerged={other['id']}"
    assert site.records.get(SYSTEM, "customers", other["id"])["phone"] == "+8613800138000"
    assert site.records.get(SYSTEM, "customers", keep["id"])["name"] == "ACME有限责任公司"
    assert "Merge undone" in client.get(undone.headers["location"]).text
    assert "Undo merge" not in client.get(f"/p/customers/panel/{keep['id']}").text


def test_merge_pages_need_the_permission_and_a_csrf_token(site, people, browse):
    keep, other = two_acmes(site, people)
    rep, token = browse(people["rep"])
    assert rep.get(f"/p/customers/merge/{keep['id']}?other_id={other['id']}").status_code == 403
    manager, _ = browse(people["manager"])
    forged = manager.post(f"/p/customers/merge/{keep['id']}", data={"other_id": str(other["id"]), "confirm": "yes"})
    assert forged.status_code == 403
    assert len(site.records.list(SYSTEM, "customers").items) == 2


def test_the_generic_merge_action_leads_to_the_dialog(site, people, browse):
    keep, other = two_acmes(site, people)
    client, _ = browse(people["manager"])
    page = client.get(f"/r/customers/{keep['id']}/act/merge?other_id={other['id']}", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == f"/p/customers/merge/{keep['id']}?other_id={other['id']}"
    undo = client.get(f"/r/customers/{keep['id']}/act/unmerge", follow_redirects=False)
    assert undo.headers["location"] == f"/r/customers/{keep['id']}"


def test_the_pick_step_lists_visible_duplicates_and_search_matches(site, people, browse):
    keep, other = two_acmes(site, people)
    hidden = site.records.create(people["outsider"], "customers", {"name": "ACME股份有限公司"})
    client, _ = browse(people["manager"])
    page = client.get(f"/p/customers/merge/{keep['id']}").text
    assert f"?other_id={other['id']}" in page and f"?other_id={hidden['id']}" not in page
    assert "Compare with ACME 有限公司" in text_of(page)
    found = client.get(f"/p/customers/merge/{keep['id']}", params={"q": "13800138000"}).text
    assert "Matches for" in found and f"?other_id={other['id']}" in found
    panel = client.get(f"/p/customers/panel/{other['id']}").text
    assert f"/p/customers/merge/{other['id']}?other_id={keep['id']}" in panel and "ACME股份有限公司" not in panel
    rep, _ = browse(people["rep"])
    assert "Compare and merge" not in rep.get(f"/p/customers/panel/{other['id']}").text  # reps may not merge


def test_my_day_lists_marks_done_and_shows_managers_their_team(site, people, browse, clock):
    rep, now = people["rep"], clock.now()
    acme = site.records.create(rep, "customers", {"name": "ACME"})
    late = site.records.create(rep, "tasks", {"title": "late quote", "customer_id": acme["id"], "due_at": now - timedelta(days=1)})
    site.records.create(rep, "tasks", {"title": "call at six", "due_at": now + timedelta(hours=1)})
    site.records.create(rep, "tasks", {"title": "next week", "due_at": now + timedelta(days=7)})
    plan = site.records.create(rep, "followups", {"customer_id": acme["id"], "method": "visit", "content": "demo", "next_at": now + timedelta(hours=2)})
    client, token = browse(people["rep"])
    client.cookies.set("crm_tz", "Asia/Shanghai")
    page = text_of(client.get("/p/customers/my-day").text)
    assert "Overdue 1 Task Customer Due Actions late quote ACME Jan 4, 2026, 5:00:00 PM" in page  # in the browser's time zone
    assert "Due today 1 Task Customer Due Actions call at six" in page and "next week" not in page
    assert "Follow-ups planned for today 1 ACME" in page and "Overdue in my team" not in page

    done = client.post(f"/p/customers/my-day/tasks/{late['id']}/done", data={"csrf_token": token})
    assert done.status_code == 303
    assert site.records.get(rep, "tasks", late["id"])["status"] == "done"
    logged = client.post(f"/p/customers/my-day/followups/{plan['id']}/done", data={"csrf_token": token, "method": "call", "content": "booked"})
    assert logged.status_code == 303
    followups = site.records.list(rep, "followups", sort="id").items
    assert [(f["content"], f["next_at"]) for f in followups] == [("demo", None), ("booked", None)]
    assert "Follow-ups planned" not in client.get("/p/customers/my-day").text
    assert client.post(f"/p/customers/my-day/tasks/{late['id']}/done", data={}).status_code == 403

    site.records.create(people["rep2"], "tasks", {"title": "rep2 late", "due_at": now - timedelta(hours=3)})
    site.records.create(people["outsider"], "tasks", {"title": "south late", "due_at": now - timedelta(hours=3)})
    manager, _ = browse(people["manager"])
    team = text_of(manager.get("/p/customers/my-day").text)
    assert "Overdue in my team 1 Task Customer Assignee Due Actions rep2 late Rep2" in team and "south late" not in team
    assert "Nothing due today." in team  # the manager's own day is empty


def test_the_churn_list_shows_visible_flagged_customers_with_the_reason(site, people, browse):
    reason = "follow-ups and purchases dropped from 4.0/month to 0.3/month (last 90 days: 1)"
    site.records.create(people["rep"], "customers", {"name": "Quiet Ltd", "churn_flag": True, "churn_reason": reason})
    site.records.create(people["outsider"], "customers", {"name": "Their Quiet", "churn_flag": True, "churn_reason": "x"})
    site.records.create(people["rep"], "customers", {"name": "Busy Ltd"})
    client, _ = browse(people["rep"])
    page = client.get("/p/customers/churn").text
    assert "Quiet Ltd" in page and reason in page and "Their Quiet" not in page and "Busy Ltd" not in page
    menu = client.get("/").text
    assert 'href="/p/customers/churn"' in menu and 'href="/p/customers/my-day"' in menu
    admin, _ = browse(people["admin"])
    assert "Their Quiet" in admin.get("/p/customers/churn").text


def test_pages_speak_chinese(site, people, browse):
    client, _ = browse(people["rep"])
    client.cookies.set("crm_locale", "zh_CN")
    assert "我的一天" in client.get("/p/customers/my-day").text
    assert "目前没有流失风险客户。" in client.get("/p/customers/churn").text


def test_the_churn_number_on_the_dashboard_links_to_the_list(site, people, browse):
    site.records.create(people["rep"], "customers", {"name": "Risky", "churn_flag": True})
    client, _ = browse(people["rep"])
    page = client.get("/").text
    assert '<a href="/p/customers/churn">Show the list</a>' in page


def test_the_customer_panel_shows_lifetime_purchases_when_a_plugin_reports_them(make_site, people_for, clock):
    from datetime import datetime, timezone

    from kernel.testing import plugin_module

    def customers_purchase_summary(customer_ids, since, until):
        first, last = datetime(2025, 3, 1, tzinfo=timezone.utc), datetime(2026, 1, 2, tzinfo=timezone.utc)
        return {i: {"count": 3, "amount": 12800.5, "currency": "CNY", "first_at": first, "last_at": last} for i in customer_ids}

    shop = plugin_module("shop", requires=["customers"], customers_purchase_summary=customers_purchase_summary)
    site = make_site(shop, plugins=("customers", "shop"))
    people = people_for(site)
    acme = site.records.create(people["rep"], "customers", {"name": "ACME"})
    client, _ = page_clients(site)(people["rep"])
    panel = text_of(client.get(f"/p/customers/panel/{acme['id']}").text)
    assert "客户终身价值 ¥12,800.50" in panel and "订单数 3" in panel and "最近购买 2026年1月2日" in panel


def test_without_a_purchases_plugin_the_panel_says_nothing_about_purchases(site, people, browse):
    acme = site.records.create(people["rep"], "customers", {"name": "ACME"})
    client, _ = browse(people["rep"])
    assert "Lifetime value" not in client.get(f"/p/customers/panel/{acme['id']}").text


def test_the_customer_page_offers_merge_but_undo_only_on_a_merge_notice(site, people, browse):
    acme = site.records.create(people["rep"], "customers", {"name": "ACME"})
    client, _ = browse(people["manager"])
    page = client.get(f"/r/customers/{acme['id']}").text
    assert f'href="/r/customers/{acme["id"]}/act/merge"' in page
    assert f'href="/r/customers/{acme["id"]}/act/unmerge"' not in page


def test_pages_link_the_plugin_s_own_stylesheet(site, people, browse):
    """The merge dialog and my-day styles ship in plugins/customers/static/plugin.css, not in the kernel's."""
    client, _ = browse(people["rep"])
    href = re.search(r'href="(/static/plugins/customers/[0-9a-f]{12}/plugin\.css)"', client.get("/p/customers/my-day").text).group(1)
    css = client.get(href)
    assert css.status_code == 200 and ".merge-compare" in css.text and "time.overdue" in css.text
    assert ".merge-compare" not in client.get("/static/ui/app.css").text


def test_the_dashboard_s_date_range_narrows_the_dated_widgets_only(site, people, browse, clock):
    import json

    site.records.create(people["rep"], "customers", {"name": "Old", "level": "A", "churn_flag": True})
    clock.advance(days=40)
    site.records.create(people["rep"], "customers", {"name": "New", "level": "B"})
    client, _ = browse(people["rep"])

    def pie(page: str, name: str) -> dict:
        section = page.split(f"<h2 id=")[1:]
        for part in section:
            if name in part.split("</h2>")[0]:
                options = json.loads(part.split('data-chart-options>')[1].split("</script>")[0])
                return {d["name"]: d["value"] for d in options["series"][0]["data"]}
        raise AssertionError(f"no widget {name!r}")

    everything = client.get("/").text
    assert pie(everything, "Customers by level") == {"A – key account": 1, "B – important": 1} and 'name="period"' in everything
    month = client.get("/?period=30d").text
    assert pie(month, "Customers by level") == {"B – important": 1}  # created in the last 30 days only
    assert "Last 30 days</span>" in month and "Not filtered by date</span>" in month  # the churn number is not dated
    assert '<p class="big-number">1' in month  # still counts the old customer at risk
    assert pie(client.get("/?period=nonsense").text, "Customers by level") == {"A – key account": 1, "B – important": 1}  # unknown: all time
