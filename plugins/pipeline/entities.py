"""The ``pipelines`` and ``opportunities`` entities, the lost-reason list, permissions and menu entries."""

from __future__ import annotations

from typing import Any

from kernel import Action, Entity, FormSection, Option, OptionList, StateMachine

from .fields import MoveBody, OpportunityFields, PipelineFields
from .models import Opportunity, Pipeline
from .moving import move_action

LOST_REASONS = OptionList(
    "pipeline.lost_reason",
    {"en": "Lost reason", "zh_CN": "输单原因"},
    tuple(
        Option(code, {"en": en, "zh_CN": zh})
        for code, en, zh in (
            ("price", "Price", "价格"),
            ("competitor", "Competitor", "竞争对手"),
            ("no_budget", "No budget", "无预算"),
            ("no_decision", "No decision", "无决策"),
            ("other", "Other", "其他"),
        )
    ),
)


def entities() -> list[Entity]:
    return [
        Entity(
            name="pipelines",
            label={"en": "Pipeline", "zh_CN": "销售流程"},
            label_plural={"en": "Pipelines", "zh_CN": "销售流程"},
            model=Pipeline,
            fields=PipelineFields,
            searchable=("name",),
            list_columns=("name", "is_default", "active", "currency"),
            menu_section="opportunities",
            menu_order=60,
        ),
        Entity(
            name="opportunities",
            label={"en": "Opportunity", "zh_CN": "商机"},
            label_plural={"en": "Opportunities", "zh_CN": "商机"},
            model=Opportunity,
            fields=OpportunityFields,
            searchable=("name", "next_step"),
            owner_field="owner_id",
            states=StateMachine("stage", set_by="pipeline_id", snapshot=("amount", "currency", "probability", "stage_feedback")),
            actions=(Action("move", {"en": "Move to stage", "zh_CN": "推进阶段"}, move_action, MoveBody, page="/p/pipeline/move/{id}"),),
            form_sections=(
                FormSection("deal", {"en": "Deal", "zh_CN": "商机"}, ("name", "customer_id", "contact_ids", "pipeline_id", "stage", "owner_id", "team_id")),
                FormSection("money", {"en": "Amount and timing", "zh_CN": "金额与时间"},
                            ("amount", "currency", "probability", "expected_close")),
                FormSection("more", {"en": "Details", "zh_CN": "详情"}, ("source", "next_step", "competitor_notes", "lost_reason")),
            ),
            read_only=("outcome", "won_at", "closed_at", "last_activity_at", "stage_feedback", "lead_id"),
            title_field="name",
            list_columns=("name", "customer_id", "stage", "amount", "expected_close", "probability", "owner_id", "outcome"),
            summary_fields=("customer_id", "amount", "probability", "expected_close", "outcome"),
            card_fields=("customer_id", "amount", "expected_close", "owner_id"),
            card_total="amount",
            menu_section="opportunities",
            menu_order=30,
        ),
    ]


def permissions() -> list[dict[str, Any]]:
    """Pipelines are the admins' (everyone reads them); moving a deal is an action reps and managers hold."""
    return [
        {"name": "opportunities.move", "label": {"en": "Opportunities: move to a stage", "zh_CN": "商机：推进阶段"},
         "roles": ["sales_manager", "sales_rep"]},
    ]


#: Opportunities have their own section of the menu (商机), after customers.
MENU_SECTIONS = [{"key": "opportunities", "label": {"en": "Opportunities", "zh_CN": "商机"}, "order": 25}]


def menu_items() -> list[dict[str, Any]]:
    return [
        {"label": {"en": "Opportunity board", "zh_CN": "商机看板"}, "url": "/p/pipeline/board", "order": 31, "section": "opportunities",
         "permission": "opportunities.read"},
        {"label": {"en": "Rotting opportunities", "zh_CN": "停滞商机"}, "url": "/p/pipeline/rotting", "order": 32, "section": "opportunities",
         "permission": "opportunities.read"},
        {"label": {"en": "Pipeline stages", "zh_CN": "流程阶段设置"}, "url": "/p/pipeline/pipelines", "order": 61, "section": "opportunities",
         "permission": "pipelines.update"},
    ]
