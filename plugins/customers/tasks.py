"""Task lists (my day, overdue) and the reminder job.

Lists go through ``site.records``, so record rules apply: a rep sees the tasks
assigned to them, a manager the team's.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from kernel import Actor, MailError, add_audit_entry, day_start, local_date, mail_enabled, notify, send_mail, user_locale, user_zone

from .models import Customer, Task
from .settings import settings_of

if TYPE_CHECKING:
    from kernel import Page, Site

TASKS = Task.__table__
CUSTOMERS = Customer.__table__
REMINDER_BATCH = 500
REMINDER_TEXTS = {
    "title": {"en": "Reminder: {title}", "zh_CN": "任务提醒：{title}"},
    "due": {"en": "Due {due}", "zh_CN": "截止时间 {due}"},
    "customer": {"en": "Customer: {name}", "zh_CN": "客户：{name}"},
    "footer": {"en": "Sent by PlugCRM. Your tasks are under My day.", "zh_CN": "此邮件由 PlugCRM 发送。您的任务见“我的一天”。"},
}
log = logging.getLogger(__name__)


def overdue_tasks(site: Site, actor: Actor, now: datetime, *, limit: int = 50, offset: int = 0) -> Page:
    """Open tasks past their due time that ``actor`` may see, the most overdue first."""
    filters = {"status": "open", "due_at__lt": now}
    return site.records.list(actor, "tasks", filters=filters, sort="due_at", limit=limit, offset=offset)


def my_day(site: Site, actor: Actor, now: datetime, *, tz: ZoneInfo | None = None, limit: int = 200) -> dict[str, Any]:
    """The actor's open tasks due today (in ``tz``, by default the actor's time zone, else the
    site's), those already overdue, and follow-ups planned for today: the actor's own and those a
    colleague planned on the actor's customers."""
    tz = tz or user_zone(site, actor.user_id)
    day = local_date(now, tz)
    start, end = day_start(day, tz), day_start(day + timedelta(days=1), tz)
    mine = {"status": "open", "assignee_id": actor.user_id}
    overdue = site.records.list(actor, "tasks", filters={**mine, "due_at__lt": now}, sort="due_at", limit=limit)
    today = site.records.list(actor, "tasks", filters={**mine, "due_at__gte": now, "due_at__lt": end}, sort="due_at", limit=limit)
    followups = _planned_followups(site, actor, start, end, limit)
    return {"date": day.isoformat(), "overdue": overdue.items, "today": today.items, "followups": followups}


def _planned_followups(site: Site, actor: Actor, start: datetime, end: datetime, limit: int) -> list[dict[str, Any]]:
    """Follow-ups planned between ``start`` and ``end`` that the actor planned, or that a colleague
    planned on one of the actor's customers (read through the customer, issue 8), by time."""
    entity = site.view.entity("followups")
    assert entity is not None  # this plugin's own
    table = entity.table
    mine = sa.select(CUSTOMERS.c.id).where(CUSTOMERS.c.owner_id == actor.user_id)
    query = site.records.list_query(actor, "followups", filters={"next_at__gte": start, "next_at__lt": end}, sort="next_at", limit=limit)
    query = query.where(sa.or_(table.c.owner_id == actor.user_id, table.c.customer_id.in_(mine)))
    with site.engine.connect() as conn:
        return [{name: row._mapping[name] for name in entity.columns} for row in conn.execute(query)]


def send_reminders(site: Site, now: datetime) -> dict[str, int]:
    """Notify the assignee of every open task whose reminder time has come, once per reminder time.

    With ``email_reminders`` on and a ``[mail]`` table, each reminder is also emailed,
    after its notification is stored. A mail that fails is logged and written to the
    task's history (``reminder_email_failed``) and not retried: the in-app reminder
    is there already, and a late copy of a reminder helps nobody. After a failure to
    reach the server, the rest of the run's mails are recorded as failed without trying.
    A task that cannot be reminded at all (any error) is logged and noted in its history
    (``reminder_failed``), and the run goes on with the next task.
    """
    due = (
        sa.select(TASKS.c.id)
        .where(TASKS.c.status == "open", TASKS.c.remind_at <= now, TASKS.c.reminded_at.is_(None), TASKS.c.assignee_id.is_not(None))
        .order_by(TASKS.c.remind_at, TASKS.c.id)
        .limit(REMINDER_BATCH)
    )
    with site.engine.connect() as conn:
        ids = list(conn.scalars(due))
    actor = Actor.system(job="customers.send_reminders")
    emailing = settings_of(site).email_reminders and mail_enabled(site)
    counts = {"reminded": 0, "emailed": 0, "email_failed": 0, "failed": 0}
    server_down: str | None = None
    for task_id in ids:
        try:
            with site.write() as conn:
                reminder = _remind(site, conn, actor, task_id, now)
        except Exception as exc:  # one bad task must not hold up the others
            log.exception("reminder for task %s failed", task_id)
            _note_failure(site, actor, task_id, exc)
            counts["failed"] += 1
            continue
        if reminder is None:
            continue  # another worker reminded it meanwhile
        counts["reminded"] += 1
        if emailing and reminder["email"]:
            failure, server_down = _email(site, actor, task_id, reminder, server_down)
            counts["email_failed" if failure else "emailed"] += 1
    return counts


def _note_failure(site: Site, actor: Actor, task_id: int, exc: Exception) -> None:
    """Write a failed reminder to the task's history; if even that fails, the log has it."""
    try:
        with site.write() as conn:
            error = f"{type(exc).__name__}: {exc}"[:500]
            add_audit_entry(conn, actor, "tasks", task_id, "reminder_failed", {"error": error}, at=site.clock.now())
    except Exception:
        log.exception("could not note the failed reminder of task %s", task_id)


def _email(site: Site, actor: Actor, task_id: int, reminder: dict[str, Any], server_down: str | None) -> tuple[str | None, str | None]:
    """Email one reminder; on failure log it and write it to the task's history.

    Returns the failure (or ``None``) and why the server is unreachable, if it is:
    then the following mails of the run fail at once instead of waiting for time-outs.
    """
    try:
        if server_down:
            raise MailError(server_down)
        send_mail(site, reminder["email"], reminder["title"], reminder["text"])
    except Exception as exc:  # a MailError, or anything else building or sending this one message
        if isinstance(exc.__cause__, OSError):
            server_down = str(exc)
        log.warning("reminder email for task %s failed: %s", task_id, exc)
        with site.write() as conn:
            add_audit_entry(conn, actor, "tasks", task_id, "reminder_email_failed", {"error": str(exc)[:500]}, at=site.clock.now())
        return str(exc), server_down
    return None, server_down


def _remind(site: Site, conn: sa.Connection, actor: Actor, task_id: int, now: datetime) -> dict[str, Any] | None:
    """Mark one task reminded and notify its assignee; what an email would say, or ``None`` if already reminded."""
    users = site.view.entity("users")
    customers = site.view.entity("customers")
    assert users is not None and customers is not None  # the kernel's and this plugin's own
    task = conn.execute(
        sa.select(TASKS, users.table.c.email.label("assignee_email"), customers.table.c.name.label("customer_name"))
        .outerjoin(users.table, users.table.c.id == TASKS.c.assignee_id)
        .outerjoin(customers.table, customers.table.c.id == TASKS.c.customer_id)
        .where(TASKS.c.id == task_id, TASKS.c.reminded_at.is_(None))
    ).first()
    if task is None:
        return None
    site.records.update(actor, "tasks", task_id, {"reminded_at": now}, conn=conn)
    locale = user_locale(site, task.assignee_id, conn)
    text = _texts(locale)
    due = task.due_at.astimezone(user_zone(site, task.assignee_id, conn)).strftime("%Y-%m-%d %H:%M") if task.due_at else None
    due_text = text["due"].format(due=due) if due else ""
    title = text["title"].format(title=task.title)
    notify(site, conn, task.assignee_id, title, due_text, f"/r/tasks/{task_id}")
    customer = text["customer"].format(name=task.customer_name) if task.customer_name else ""
    body = "\n".join(line for line in (title, due_text, customer, task.description) if line)
    return {"email": task.assignee_email, "title": title, "text": f"{body}\n\n{text['footer']}\n"}


def _texts(locale: str) -> dict[str, str]:
    return {key: labels.get(locale, labels["en"]) for key, labels in REMINDER_TEXTS.items()}
