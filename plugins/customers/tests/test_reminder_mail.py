"""Task reminders also go out by email when mail is configured and ``email_reminders`` is on."""

from datetime import timedelta

import pytest

from kernel.testing import free_port, list_notifications, MailSettings, make_people, run_due_jobs


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
    assert outcome.result == {"reminded": 1, "emailed": 1, "email_failed": 0, "failed": 0}
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
    assert run_due_jobs(site, only="customers.send_reminders")[0].result == {"reminded": 1, "emailed": 0, "email_failed": 0, "failed": 0}
    assert smtp_server.inbox.messages == []
    assert list_notifications(site, people["rep"].user_id)["unread"] == 1


def test_a_server_that_is_down_loses_no_notification_and_records_the_failure(make_site, clock, caplog):
    mail = MailSettings(host="127.0.0.1", port=free_port(), sender="crm@example.com", timeout=2)
    site = make_site(plugins=("customers",), mail=mail, plugin_settings=MAILING)
    people = make_people(site)
    first = remind_soon(site, people, clock, "first")
    second = remind_soon(site, people, clock, "second")
    outcome = run_due_jobs(site, only="customers.send_reminders")[0]
    assert outcome.status == "done" and outcome.result == {"reminded": 2, "emailed": 0, "email_failed": 2, "failed": 0}
    titles = sorted(n["title"] for n in list_notifications(site, people["rep"].user_id)["items"])
    assert titles == ["任务提醒：first", "任务提醒：second"]
    for task in (first, second):
        assert site.records.get(people["rep"], "tasks", task["id"])["reminded_at"] == clock.now()
        failure = site.records.history(people["admin"], "tasks", task["id"])[0]
        assert failure["action"] == "reminder_email_failed" and "127.0.0.1" in failure["changes"]["error"]
    assert "reminder email for task" in caplog.text


def test_a_title_with_line_breaks_is_emailed_on_one_line_and_the_batch_goes_on(make_site, clock, smtp_server):
    mail = MailSettings(host="127.0.0.1", port=smtp_server.port, sender="crm@example.com")
    site = make_site(plugins=("customers",), mail=mail, plugin_settings=MAILING)
    people = make_people(site)
    odd = remind_soon(site, people, clock, "Call back\r\nBcc: evil@example.com")
    plain = remind_soon(site, people, clock, "plain")
    outcome = run_due_jobs(site, only="customers.send_reminders")[0]
    assert outcome.status == "done" and outcome.result == {"reminded": 2, "emailed": 2, "email_failed": 0, "failed": 0}
    subjects = sorted(sent["message"]["Subject"] for sent in smtp_server.inbox.messages)
    assert subjects == ["任务提醒：Call back Bcc: evil@example.com", "任务提醒：plain"]
    assert all(sent["to"] == ["rep@example.com"] and sent["message"]["Bcc"] is None for sent in smtp_server.inbox.messages)
    for task in (odd, plain):
        assert site.records.get(people["rep"], "tasks", task["id"])["reminded_at"] == clock.now()


def test_a_task_that_cannot_be_reminded_is_noted_and_the_others_are_reminded(make_site, clock, smtp_server, monkeypatch, caplog):
    from plugins.customers import tasks

    mail = MailSettings(host="127.0.0.1", port=smtp_server.port, sender="crm@example.com")
    site = make_site(plugins=("customers",), mail=mail, plugin_settings=MAILING)
    people = make_people(site)
    broken = remind_soon(site, people, clock, "broken")
    fine = remind_soon(site, people, clock, "fine")
    real = tasks.notify

    def notify(site, conn, user_id, title, *args):
        if "broken" in title:
            raise RuntimeError("the notification store is broken")
        return real(site, conn, user_id, title, *args)

    monkeypatch.setattr(tasks, "notify", notify)
    outcome = run_due_jobs(site, only="customers.send_reminders")[0]
    assert outcome.status == "done" and outcome.result == {"reminded": 1, "emailed": 1, "email_failed": 0, "failed": 1}
    assert [sent["message"]["Subject"] for sent in smtp_server.inbox.messages] == ["任务提醒：fine"]
    failure = site.records.history(people["admin"], "tasks", broken["id"])[0]
    assert failure["action"] == "reminder_failed" and "the notification store is broken" in failure["changes"]["error"]
    assert site.records.get(people["rep"], "tasks", broken["id"])["reminded_at"] is None  # nothing half-written
    assert site.records.get(people["rep"], "tasks", fine["id"])["reminded_at"] == clock.now()
    assert "reminder for task" in caplog.text
