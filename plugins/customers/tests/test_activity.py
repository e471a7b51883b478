"""Follow-ups move last_followed_at; tasks get reminders, my-day and overdue lists."""

from datetime import timedelta

import pytest

from kernel import ValidationError, hookimpl
from kernel.testing import list_notifications, run_due_jobs

from .conftest import SYSTEM, customer


def test_a_followup_moves_the_customers_last_followed_at_forward_only(site, people, clock):
    rep = people["rep"]
    acme = customer(site, rep)
    site.records.create(rep, "followups", {"customer_id": acme["id"], "method": "call", "content": "intro"})
    assert site.records.get(rep, "customers", acme["id"])["last_followed_at"] == clock.now()
    older = clock.now() - timedelta(days=3)
    site.records.create(rep, "followups", {"entity": "customers", "record_id": acme["id"], "method": "visit", "followed_at": older})
    assert site.records.get(rep, "customers", acme["id"])["last_followed_at"] == clock.now()


def test_a_followup_names_what_it_is_about(site, people):
    with pytest.raises(ValidationError) as caught:
        site.records.create(people["rep"], "followups", {"method": "call"})
    assert caught.value.details[0]["loc"] == ["customer_id"]
    with pytest.raises(ValidationError) as caught:
        site.records.create(people["rep"], "followups", {"method": "call", "entity": "ghosts", "record_id": 1})
    assert caught.value.details == [{"loc": ["entity"], "msg": "unknown or disabled entity 'ghosts'"}]
    with pytest.raises(ValidationError) as caught:
        site.records.create(people["rep"], "followups", {"method": "fax", "customer_id": 1})
    assert caught.value.details[0]["loc"] == ["method"]


def test_a_followup_on_another_entity_reaches_its_plugin_through_the_hook(make_site, clock):
    from kernel.testing import START  # noqa: F401 - the clock starts there
    from tests.example import plugin as notes_plugin
    from kernel.testing import plugin_module

    seen = []

    def customers_followed_up(entity, record_id, at):
        seen.append((entity, record_id, at))

    bridge = plugin_module("notes_followups", requires=["customers", "notes"], customers_followed_up=customers_followed_up)
    site = make_site(notes_plugin, bridge, plugins=("customers", "notes", "notes_followups"))
    note = site.records.create(SYSTEM, "notes", {"title": "call back"})
    followup = site.records.create(SYSTEM, "followups", {"entity": "notes", "record_id": note["id"], "method": "wechat"})
    assert followup["customer_id"] is None
    assert seen == [("notes", note["id"], clock.now())]


def test_tasks_get_a_reminder_before_they_are_due(site, people, clock):
    due = clock.now() + timedelta(hours=2)
    task = site.records.create(people["rep"], "tasks", {"title": "send quote", "due_at": due})
    assert task["assignee_id"] == people["rep"].user_id
    assert task["remind_at"] == due - timedelta(minutes=30)
    moved = site.records.update(people["rep"], "tasks", task["id"], {"due_at": due + timedelta(days=1)})
    assert moved["remind_at"] == due + timedelta(days=1) - timedelta(minutes=30)
    done = site.records.update(people["rep"], "tasks", task["id"], {"status": "done"})
    assert done["done_at"] == clock.now()


def test_the_reminder_job_notifies_once_when_the_time_comes(site, people, clock):
    rep = people["rep"]
    task = site.records.create(rep, "tasks", {"title": "send quote", "due_at": clock.now() + timedelta(hours=1)})
    run_due_jobs(site, only="customers.send_reminders")
    assert list_notifications(site, rep.user_id)["items"] == []
    clock.advance(minutes=31)
    run_due_jobs(site, only="customers.send_reminders")
    clock.advance(minutes=5)
    run_due_jobs(site, only="customers.send_reminders")
    inbox = list_notifications(site, rep.user_id)
    assert inbox["unread"] == 1
    assert inbox["items"][0]["title"] == "任务提醒：send quote" and inbox["items"][0]["link"] == f"/r/tasks/{task['id']}"
    site.records.update(rep, "tasks", task["id"], {"remind_at": clock.now() + timedelta(minutes=1)})
    clock.advance(minutes=2)
    run_due_jobs(site, only="customers.send_reminders")
    assert list_notifications(site, rep.user_id)["unread"] == 2  # a new reminder time re-arms it


def test_my_day_lists_today_and_overdue_for_the_actor_only(site, people, clock, http):
    rep, rep2 = people["rep"], people["rep2"]
    now = clock.now()  # 2026-01-05 09:00 UTC = 17:00 in Shanghai
    site.records.create(rep, "tasks", {"title": "late", "due_at": now - timedelta(days=1)})
    site.records.create(rep, "tasks", {"title": "tonight", "due_at": now + timedelta(hours=5)})
    site.records.create(rep, "tasks", {"title": "tomorrow", "due_at": now + timedelta(hours=8)})
    site.records.create(rep2, "tasks", {"title": "not mine", "due_at": now + timedelta(hours=1)})
    body = http(rep).get("/api/v1/plugins/customers/tasks/my-day").json()
    assert body["date"] == "2026-01-05"
    assert [t["title"] for t in body["overdue"]] == ["late"] and [t["title"] for t in body["today"]] == ["tonight"]
    utc = http(rep).get("/api/v1/plugins/customers/tasks/my-day", params={"tz": "UTC"}).json()
    assert [t["title"] for t in utc["today"]] == ["tonight", "tomorrow"]
    assert http(rep).get("/api/v1/plugins/customers/tasks/my-day", params={"tz": "Mars/Base"}).status_code == 422


def test_overdue_tasks_of_the_team_are_visible_to_its_manager(site, people, clock, http):
    past = clock.now() - timedelta(hours=1)
    for who in ("rep", "rep2", "outsider"):
        site.records.create(people[who], "tasks", {"title": f"{who} late", "due_at": past})
    site.records.create(people["rep"], "tasks", {"title": "rep done", "due_at": past, "status": "done"})
    manager = http(people["manager"]).get("/api/v1/plugins/customers/tasks/overdue").json()
    assert sorted(t["title"] for t in manager["items"]) == ["rep late", "rep2 late"] and manager["total"] == 2
    rep = http(people["rep"]).get("/api/v1/plugins/customers/tasks/overdue").json()
    assert [t["title"] for t in rep["items"]] == ["rep late"]


def test_a_reminder_is_written_in_the_assignees_language(site, people, clock, http):
    rep = people["rep"]
    assert http(rep).request("PUT", "/api/v1/auth/preferences", json={"locale": "en"}).status_code == 200  # the site reads Chinese
    site.records.create(rep, "tasks", {"title": "send quote", "due_at": clock.now() + timedelta(hours=1)})
    clock.advance(minutes=31)
    run_due_jobs(site, only="customers.send_reminders")
    assert [n["title"] for n in list_notifications(site, rep.user_id)["items"]] == ["Reminder: send quote"]
