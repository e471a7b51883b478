"""The four entities of the plugin, their actions and permissions."""

from __future__ import annotations

from typing import Any

from kernel import Action, Entity

from . import layouts
from .fields import ContactFields, CustomerFields, FollowupFields, MergeBody, TaskFields, UnmergeBody
from .merge import merge_customers, unmerge_customers
from .models import Contact, Customer, Followup, Task

KEYS = ("name_key", "phone_key", "email_key")


def entities() -> list[Entity]:
    return [
        Entity(
            name="customers",
            label={"en": "Customer", "zh_CN": "客户"},
            label_plural={"en": "Customers", "zh_CN": "客户"},
            model=Customer,
            fields=CustomerFields,
            searchable=("name", "phone", "email", "credit_code"),
            actions=(
                Action(
                    "merge",
                    {"en": "Merge", "zh_CN": "合并"},
                    merge_customers,
                    MergeBody,
                    confirm={"en": "Merge the other customer into this one?", "zh_CN": "确定将另一客户合并到此客户？"},
                    page="/p/customers/merge/{id}",
                ),
                Action("unmerge", {"en": "Undo merge", "zh_CN": "撤销合并"}, unmerge_customers, UnmergeBody, page="/r/customers/{id}", button=False),
            ),
            hidden=KEYS,
            owner_field="owner_id",
            **layouts.CUSTOMERS,
            list_columns=("name", "level", "industry", "region", "owner_id", "phone", "last_followed_at"),
            summary_fields=("level", "industry", "phone", "email", "last_followed_at"),
            card_fields=("level", "industry", "owner_id", "last_followed_at"),
            tab_counts=("contacts", "followups", "tasks"),
            menu_section="customers",
            menu_order=10,
        ),
        Entity(
            name="contacts",
            label={"en": "Contact", "zh_CN": "联系人"},
            label_plural={"en": "Contacts", "zh_CN": "联系人"},
            model=Contact,
            fields=ContactFields,
            searchable=("name", "phone", "email", "wechat"),
            hidden=("phone_key", "email_key"),
            parent=("customer_id", "customers"),
            deleted_with_parent=True,
            **layouts.CONTACTS,
            list_columns=("name", "customer_id", "title", "phone", "email", "is_primary"),
            summary_fields=("customer_id", "title", "phone", "email"),
            menu_section="customers",
            menu_order=20,
        ),
        Entity(
            name="followups",
            label={"en": "Follow-up", "zh_CN": "跟进记录"},
            label_plural={"en": "Follow-ups", "zh_CN": "跟进记录"},
            model=Followup,
            fields=FollowupFields,
            searchable=("content",),
            owner_field="owner_id",
            parent=(("customer_id", "customers"), ("entity", "record_id")),
            deleted_with_parent=True,
            **layouts.FOLLOWUPS,
            list_columns=("content", "customer_id", "method", "followed_at", "next_at", "owner_id"),
            summary_fields=("customer_id", "method", "followed_at", "next_at"),
            menu_section="sales",
            menu_order=20,
        ),
        Entity(
            name="tasks",
            label={"en": "Task", "zh_CN": "任务"},
            label_plural={"en": "Tasks", "zh_CN": "任务"},
            model=Task,
            fields=TaskFields,
            searchable=("title", "description"),
            owner_field="assignee_id",
            parent=(("customer_id", "customers"), ("entity", "record_id")),
            deleted_with_parent=True,
            **layouts.TASKS,
            list_columns=("title", "customer_id", "assignee_id", "priority", "status", "due_at"),
            summary_fields=("customer_id", "priority", "due_at"),
            card_fields=("customer_id", "assignee_id", "priority", "due_at"),
            menu_section="sales",
            menu_order=30,
        ),
    ]


#: The menu sections this plugin's entries go under (service and marketing plugins declare theirs).
MENU_SECTIONS = [
    {"key": "sales", "label": {"en": "Sales", "zh_CN": "销售"}, "order": 10},
    {"key": "customers", "label": {"en": "Customers", "zh_CN": "客户"}, "order": 20},
]


def log_forms(entity: str, record: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The customer page's quick box: log a follow-up (method, what happened, next date)."""
    if entity != "customers":
        return None
    return [{
        "entity": "followups",
        "label": {"en": "Log a follow-up", "zh_CN": "记录跟进"},
        "fields": ["method", "content", "next_at"],
        "values": {"customer_id": record["id"]},
    }]


def permissions() -> list[dict[str, Any]]:
    """Merging is a manager's call; contacts (not owned) are written by the reps who see their customer."""
    writers = ["sales_manager", "sales_rep"]
    return [
        {"name": "customers.merge", "label": {"en": "Customers: merge", "zh_CN": "客户：合并"}, "roles": ["sales_manager"]},
        {"name": "customers.unmerge", "label": {"en": "Customers: undo merge", "zh_CN": "客户：撤销合并"}, "roles": ["sales_manager"]},
        {"name": "contacts.create", "label": {"en": "Contacts: create", "zh_CN": "联系人：新建"}, "roles": writers},
        {"name": "contacts.update", "label": {"en": "Contacts: update", "zh_CN": "联系人：编辑"}, "roles": writers},
        {"name": "contacts.delete", "label": {"en": "Contacts: delete", "zh_CN": "联系人：删除"}, "roles": ["sales_manager"]},
    ]
