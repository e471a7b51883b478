"""Issue 15, second round on the customer pages: a reference changed inline with a picker (and
the page's version), tabs with counts for contacts, follow-ups and tasks, the boards' cards."""

from __future__ import annotations

import re
from html import unescape

from kernel.testing import browse, text_of  # noqa: F401 - fixture


def test_a_reference_changes_inline_by_name_with_the_version_the_page_showed(site, people, browse):
    rep = people["rep"]
    acme = site.records.create(rep, "customers", {"name": "ACME"})
    globex = site.records.create(rep, "customers", {"name": "Globex 环球"})
    task = site.records.create(rep, "tasks", {"title": "send quote", "customer_id": acme["id"]})
    client, token = browse(people["rep"])
    page = client.get(f"/r/tasks/{task['id']}").text
    form = page[page.index('name="_field" value="customer_id"'):]
    form = form[:form.index("</form>")]
    assert 'data-picker' in form and 'hx-get="/r/customers/lookup"' in form and 'value="ACME"' in form  # by name, never an id box
    assert 'type="number"' not in form
    version = unescape(re.search(r'name="_version" value="([^"]+)"', page).group(1))
    picked = client.get("/r/customers/lookup", params={"q": "Globex", "for": "inline-f-customer_id"}).text
    assert f'data-picker-pick="{globex["id"]}"' in picked and 'data-picker-for="inline-f-customer_id"' in picked
    answer = client.post(f"/r/tasks/{task['id']}/inline", data={"csrf_token": token, "_field": "customer_id", "_version": version, "customer_id": str(globex["id"]), "q": "Globex 环球"})
    assert answer.status_code == 303, answer.text
    assert site.records.get(rep, "tasks", task["id"])["customer_id"] == globex["id"]
    stale = client.post(f"/r/tasks/{task['id']}/inline", data={"csrf_token": token, "_field": "customer_id", "_version": version, "customer_id": str(acme["id"])})
    assert stale.status_code == 409
    assert site.records.get(rep, "tasks", task["id"])["customer_id"] == globex["id"]


def test_an_inline_reference_the_user_may_not_see_is_refused(site, people, browse):
    rep, outsider = people["rep"], people["outsider"]
    mine = site.records.create(rep, "customers", {"name": "Mine"})
    theirs = site.records.create(outsider, "customers", {"name": "Theirs"})
    task = site.records.create(rep, "tasks", {"title": "call", "customer_id": mine["id"]})
    client, token = browse(people["rep"])
    answer = client.post(f"/r/tasks/{task['id']}/inline", data={"csrf_token": token, "_field": "customer_id", "customer_id": str(theirs["id"])})
    assert answer.status_code in (403, 404, 422) and 'id="inline-error"' in answer.text
    assert site.records.get(rep, "tasks", task["id"])["customer_id"] == mine["id"]


def test_the_customer_page_has_tabs_counting_its_contacts_follow_ups_and_tasks(site, people, browse):
    rep, manager = people["rep"], people["manager"]
    acme = site.records.create(rep, "customers", {"name": "ACME"})
    for name in ("Li Lei", "Han Meimei"):
        site.records.create(rep, "contacts", {"customer_id": acme["id"], "name": name})
    site.records.create(manager, "followups", {"customer_id": acme["id"], "method": "visit", "content": "manager visited"})  # a colleague's: counted
    client, _ = browse(people["rep"])
    page = client.get(f"/r/customers/{acme['id']}").text
    tabs = dict(re.findall(r'id="tab-related-(\w+)-customer_id"[^>]*>[^<]*<span class="count" data-tab-count>(\d+)<', page))
    assert tabs == {"contacts": "2", "followups": "1", "tasks": "0"}
    order = [page.index(f'id="tab-related-{name}-') for name in ("contacts", "followups", "tasks")]
    assert order == sorted(order)
    opened = client.get(f"/r/customers/{acme['id']}?tab=related-contacts-customer_id").text
    panel = opened[opened.index('id="panel"'):]
    assert "Li Lei" in panel and "Han Meimei" in panel and "manager visited" not in panel


def test_board_cards_show_the_declared_fields(site, people, browse):
    rep = people["rep"]
    acme = site.records.create(rep, "customers", {"name": "ACME", "level": "A", "industry": "software"})
    site.records.create(rep, "tasks", {"title": "send quote", "customer_id": acme["id"], "priority": "high"})
    client, _ = browse(people["rep"])
    customers = text_of(client.get("/r/customers/kanban").text)
    assert re.search(r"ACME .*(Level|级别) A", customers)
    tasks = client.get("/r/tasks/kanban").text
    card = tasks[tasks.index(">send quote</a>"):]
    card = card[:card.index("</article>")]
    assert 'data-card-field="customer_id"' in card and "ACME" in card and 'data-card-field="assignee_id"' in card
