"""Task reminders also go out by email when mail is configured and ``email_reminders`` is on."""

from datetime import timedelta

import pytest

from kernel.testing import list_notifications, MailSettings, run_due_jobs

from .conftest import free_port, make_people

MAILING = {"customers": {"email_reminders": True}}


def remind_soon(site, people, clock, title="给华东客户报价"):
    acme = site.records.create(people["rep"], "customers", {"name": "杭州云帆科技有限公司"})
    task = site.records.create(people["rep"], "tasks", {"title": title, "customer_id": acme["id"], "due_at": clock.now() + timedelta(minutes=20)})
    return task


def test_a_reminder_is_emailed_to_the_assignee_in_chinese(make_site, clock, smtp_server):
    mail = MailSettings(host="127.0.0.1", port=smtp_server.port, sender="PlugCRM <crm@example.com>")
    site = make_site(plugins=("customers",), mail=mail, plugin_settings=MAILING)
    people = make_people(site)
    task = remind_soon(site, people, clock)
    outcome = run_due_jobs(site, only="customers.send_reminders")[0]
    assert outcome.result == {"reminded": 1, "emailed": 1, "email_failed": 0}
    [sent] = smtp_server.inbox.messages
    assert sent["to"] == ["rep@example.com"] and sent["from"] == "crm@example.com"
    message = sent["message"]
    assert message["Subject"] == "任务提醒：给华东客户报价"
    body = message.get_content()
    assert "截止时间 2026-01-05 17:20" in body and "客户：杭州云帆科技有限公司" in body
    assert list_notifications(site, people["rep"].user_id)["items"][0]["link"] == f"/r/tasks/{task['id']}"
    assert run_due_jobs(site, clock.now() + timedelta(minutes=1), only="customers.send_reminders")[0].result["reminded"] == 0
    assert len(smtp_server.inbox.messages) == 1  # once per reminder time


@pytest.mark.parametrize("settings", [{"plugin_settings": MAILING}, {"mail": "on"}])
def test_no_mail_without_a_mail_table_or_with_the_setting_off(make_site, clock, smtp_server, settings):
    if settings.get("mail") == "on":
        settings = {"mail": MailSettings(host="127.0.0.1", port=smtp_server.port, sender="crm@example.com")}  # email_reminders defaults to off
    site = make_site(plugins=("customers",), **settings)
    people = make_people(site)
    remind_soon(site, people, clock)
    assert run_due_jobs(site, only="customers.send_reminders")[0].result == {"reminded": 1, "emailed": 0, "email_failed": 0}
    assert smtp_server.inbox.messages == []
    assert list_notifications(site, people["rep"].user_id)["unread"] == 1


def test_a_server_that_is_down_loses_no_notification_and_records_the_failure(make_site, clock, caplog):
    mail = MailSettings(host="127.0.0.1", port=free_port(), sender="crm@example.com", timeout=2)
    site = make_site(plugins=("customers",), mail=mail, plugin_settings=MAILING)
    people = make_people(site)
    first = remind_soon(site, people, clock, "first")
    second = remind_soon(site, people, clock, "second")
    outcome = run_due_jobs(site, only="customers.send_reminders")[0]
    assert outcome.status == "done" and outcome.result == {"reminded": 2, "emailed": 0, "email_failed": 2}
    titles = sorted(n["title"] for n in list_notifications(site, people["rep"].user_id)["items"])
    assert titles == ["任务提醒：first", "任务提醒：second"]
    for task in (first, second):
        assert site.records.get(people["rep"], "tasks", task["id"])["reminded_at"] == clock.now()
        failure = site.records.history(people["admin"], "tasks", task["id"])[0]
        assert failure["action"] == "reminder_email_failed" and "127.0.0.1" in failure["changes"]["error"]
    assert "reminder email for task" in caplog.text
