"""The ``leads`` and ``lead_pools`` entities: the lifecycle, the convert action, permissions and menu."""

from __future__ import annotations

from typing import Any

from kernel import Action, Entity, FormSection, State, StateMachine

from .conversion import convert_action
from .fields import STATUSES, ConvertBody, LeadFields, LeadPoolFields
from .models import Lead, LeadPool

KEYS = ("company_key", "phone_key", "email_key")
OPEN = ("new", "assigned", "contacting", "qualified")

#: new → assigned → contacting → qualified → converted (a held lead may be converted from any of the
#: last three); any open state → invalid (a reason needed, :func:`.lifecycle.check_transition`); an
#: invalid lead may be reopened as new; assigned → new when it goes back to its pool uncontacted.
LIFECYCLE = StateMachine("status", states=(
    State("new", STATUSES["new"], to=("assigned", "contacting", "invalid")),
    State("assigned", STATUSES["assigned"], to=("new", "contacting", "qualified", "converted", "invalid")),
    State("contacting", STATUSES["contacting"], to=("qualified", "converted", "invalid")),
    State("qualified", STATUSES["qualified"], to=("contacting", "converted", "invalid")),
    State("converted", STATUSES["converted"], kind="won", to=()),
    State("invalid", STATUSES["invalid"], kind="lost", to=("new",)),
))


def entities() -> list[Entity]:
    return [
        Entity(
            name="leads",
            label={"en": "Lead", "zh_CN": "线索"},
            label_plural={"en": "Leads", "zh_CN": "线索"},
            model=Lead,
            fields=LeadFields,
            searchable=("name", "company", "phone", "email", "wechat"),
            actions=(
                Action("convert", {"en": "Convert", "zh_CN": "转化"}, convert_action, ConvertBody,
                       page="/p/leads/convert/{id}"),
            ),
            hidden=KEYS,
            owner_field="owner_id",
            states=LIFECYCLE,
            form_sections=(
                FormSection("who", {"en": "Who", "zh_CN": "基本信息"}, ("name", "company", "title")),
                FormSection("reach", {"en": "Contact details", "zh_CN": "联系方式"}, ("phone", "email", "wechat")),
                FormSection("where", {"en": "Source and routing", "zh_CN": "来源与分配"},
                            ("source", "region", "industry", "pool_id", "owner_id", "status", "invalid_reason")),
                FormSection("more", {"en": "Notes", "zh_CN": "备注"}, ("notes",)),
            ),
            read_only=("score", "score_reasons", "last_followed_at", "customer_id", "contact_id", "opportunity_id", "converted_at"),
            list_columns=("name", "company", "status", "score", "source", "pool_id", "owner_id", "last_followed_at"),
            summary_fields=("company", "score", "source", "phone", "last_followed_at"),
            card_fields=("company", "score", "owner_id"),
            tab_counts=("followups", "tasks"),
            menu_section="leads",
            menu_order=5,
        ),
        Entity(
            name="lead_pools",
            label={"en": "Lead pool", "zh_CN": "线索池"},
            label_plural={"en": "Lead pool settings", "zh_CN": "线索池设置"},
            model=LeadPool,
            fields=LeadPoolFields,
            # leads have no level (the kind's level_field is None): per-level rules mean nothing for a lead
            # pool, so the field shows nowhere unless an entity ``lead_levels`` (a deployment's) exists
            field_requires={"level_overrides": "lead_levels"},
            menu_section="leads",
            menu_order=7,
        ),
    ]


def permissions() -> list[dict[str, Any]]:
    """Lead pools are set up by admins; members read the pools they belong to (the plugin's record
    filter). Leads themselves keep the kernel's defaults for an owned entity."""
    return [
        {"name": "lead_pools.read", "label": {"en": "Lead pools: read", "zh_CN": "线索池：查看"}, "roles": ["sales_manager", "sales_rep", "marketer", "executive"]},
    ]


#: Leads have their own section of the menu (线索), between the sales work and customers.
MENU_SECTIONS = [{"key": "leads", "label": {"en": "Leads", "zh_CN": "线索"}, "order": 15}]


def menu_items() -> list[dict[str, Any]]:
    """The leads section: leads (the entity's own entry), the lead pools with their Claim buttons
    (the pools' pages) and my leads with the days left before recycling (the pools' holdings)."""
    return [
        {"label": {"en": "Lead pools", "zh_CN": "线索池"}, "url": "/p/pools/?entity=leads", "order": 6, "section": "leads"},
        {"label": {"en": "My leads", "zh_CN": "我的线索"}, "url": "/p/pools/holdings?entity=leads", "order": 6, "section": "leads"},
    ]
