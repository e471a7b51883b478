"""Task lists (my day, overdue) and the reminder job.

Lists go through ``site.records``, so record rules apply: a rep sees the tasks
assigned to them, a manager the team's.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from kernel import Actor
from kernel.notifications import notify

from .models import Task

if TYPE_CHECKING:
    from kernel import Page, Site

TASKS = Task.__table__
REMINDER_BATCH = 500
LOCAL_TIME = ZoneInfo("Asia/Shanghai")
REMINDER_TITLE = {"en": "Reminder: {title}", "zh_CN": "任务提醒：{title}"}
DUE_TEXT = {"en": "Due {due}", "zh_CN": "截止时间 {due}"}


def overdue_tasks(site: Site, actor: Actor, now: datetime, *, limit: int = 50, offset: int = 0) -> Page:
    """Open tasks past their due time that ``actor`` may see, the most overdue first."""
    filters = {"status": "open", "due_at__lt": now}
    return site.records.list(actor, "tasks", filters=filters, sort="due_at", limit=limit, offset=offset)


def my_day(site: Site, actor: Actor, now: datetime, *, tz: ZoneInfo = LOCAL_TIME, limit: int = 200) -> dict[str, Any]:
    """The actor's open tasks due today (in ``tz``) and those already overdue."""
    local = now.astimezone(tz)
    start = datetime.combine(local.date(), time(0), tzinfo=tz)
    end = start + timedelta(days=1)
    mine = {"status": "open", "assignee_id": actor.user_id}
    overdue = site.records.list(actor, "tasks", filters={**mine, "due_at__lt": now}, sort="due_at", limit=limit)
    today = site.records.list(actor, "tasks", filters={**mine, "due_at__gte": now, "due_at__lt": end}, sort="due_at", limit=limit)
    return {"date": local.date().isoformat(), "overdue": overdue.items, "today": today.items}


def send_reminders(site: Site, now: datetime) -> int:
    """Notify the assignee of every open task whose reminder time has come, once per reminder time."""
    due = (
        sa.select(TASKS.c.id)
        .where(TASKS.c.status == "open", TASKS.c.remind_at <= now, TASKS.c.reminded_at.is_(None), TASKS.c.assignee_id.is_not(None))
        .order_by(TASKS.c.remind_at, TASKS.c.id)
        .limit(REMINDER_BATCH)
    )
    with site.engine.connect() as conn:
        ids = list(conn.scalars(due))
    actor = Actor.system("job")
    locale = site.settings.default_locale
    sent = 0
    for task_id in ids:
        with site.write() as conn:
            task = conn.execute(sa.select(TASKS).where(TASKS.c.id == task_id, TASKS.c.reminded_at.is_(None))).first()
            if task is None:
                continue  # another worker reminded it meanwhile
            site.records.update(actor, "tasks", task_id, {"reminded_at": now}, conn=conn)
            due = task.due_at.astimezone(LOCAL_TIME).strftime("%Y-%m-%d %H:%M") if task.due_at else None
            due_text = DUE_TEXT.get(locale, DUE_TEXT["en"]).format(due=due) if due else ""
            title = REMINDER_TITLE.get(locale, REMINDER_TITLE["en"]).format(title=task.title)
            notify(site, conn, task.assignee_id, title, due_text, f"/tasks/{task_id}")
            sent += 1
    return sent
