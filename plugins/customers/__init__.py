"""Customers (客户), contacts (联系人), follow-ups (跟进记录), tasks (任务): the base most plugins require.

Other plugins talk to this one through the kernel (entities ``customers``,
``contacts``, ``followups``, ``tasks``) and the hooks in :mod:`.hookspecs`;
the functions below are for the CLI, tests and the deployment's own code.
"""

from .churn import flag_churn
from .creditcode import credit_code_problem
from .normalize import company_key, email_key, phone_key
from .purchases import purchase_summary
from .tasks import my_day, overdue_tasks, send_reminders
from .timeline import customer_timeline

__all__ = [
    "company_key",
    "credit_code_problem",
    "customer_timeline",
    "email_key",
    "flag_churn",
    "my_day",
    "overdue_tasks",
    "phone_key",
    "purchase_summary",
    "send_reminders",
]
