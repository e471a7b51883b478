"""What callers may send for pipelines and opportunities (pydantic), with en / zh_CN labels."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

OUTCOMES = ("open", "won", "lost", "invalid")


def label(en: str, zh: str, **extra: Any) -> dict[str, Any]:
    """``json_schema_extra`` carrying a field's labels (and choice labels)."""
    return {"x-label": {"en": en, "zh_CN": zh}, **extra}


OUTCOME_LABELS = {
    "open": {"en": "Open", "zh_CN": "进行中"},
    "won": {"en": "Won", "zh_CN": "赢单"},
    "lost": {"en": "Lost", "zh_CN": "输单"},
    "invalid": {"en": "Invalid", "zh_CN": "无效"},
}


class PipelineFields(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=120, json_schema_extra=label("Name", "名称"))
    description: str = Field("", max_length=2000, json_schema_extra=label("Description", "说明"))
    is_default: bool = Field(False, json_schema_extra=label("Default pipeline", "默认流程"))
    active: bool = Field(True, json_schema_extra=label("Active", "启用"))
    currency: str = Field("CNY", pattern="^[A-Z]{3}$", json_schema_extra=label("Currency", "币种"))


class OpportunityFields(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=200, json_schema_extra=label("Name", "商机名称"))
    customer_id: int = Field(ge=1, json_schema_extra=label("Customer", "客户"))
    contact_ids: list[int] = Field(default_factory=list, max_length=50, json_schema_extra=label("Contacts", "联系人", **{"x-entity": "contacts"}))
    owner_id: int | None = Field(None, json_schema_extra=label("Owner", "负责人"))
    team_id: int | None = Field(None, json_schema_extra=label("Team", "团队"))
    pipeline_id: int | None = Field(None, ge=1, json_schema_extra=label("Pipeline", "销售流程"))
    stage: str | None = Field(None, max_length=40, json_schema_extra=label("Stage", "阶段"))
    amount: Decimal | None = Field(None, max_digits=18, decimal_places=2, json_schema_extra=label("Amount", "金额"))
    currency: str | None = Field(None, pattern="^[A-Z]{3}$", json_schema_extra=label("Currency", "币种"))
    expected_close: date | None = Field(None, json_schema_extra=label("Expected close", "预计成交日期"))
    probability: int | None = Field(None, ge=0, le=100, json_schema_extra=label("Probability (%)", "赢率（%）"))
    source: str | None = Field(None, max_length=80, json_schema_extra=label("Source", "来源", **{"x-options": "customers.source"}))
    competitor_notes: str = Field("", max_length=4000, json_schema_extra=label("Competitors", "竞争对手情况"))
    next_step: str | None = Field(None, max_length=300, json_schema_extra=label("Next step", "下一步"))
    outcome: Literal["open", "won", "lost", "invalid"] = Field("open", json_schema_extra=label("Outcome", "结果", **{"x-labels": OUTCOME_LABELS}))
    lost_reason: str | None = Field(None, max_length=40, json_schema_extra=label("Lost reason", "输单原因", **{"x-options": "pipeline.lost_reason"}))
    stage_feedback: dict[str, Any] | None = Field(None, json_schema_extra=label("Stage feedback", "阶段反馈"))
    won_at: datetime | None = Field(None, json_schema_extra=label("Won at", "赢单时间"))
    closed_at: datetime | None = Field(None, json_schema_extra=label("Closed at", "关闭时间"))
    last_activity_at: datetime | None = Field(None, json_schema_extra=label("Last activity", "最近活动"))
    lead_id: int | None = Field(None, ge=1, json_schema_extra=label("From lead", "来源线索", **{"x-entity": "leads"}))


class MoveBody(BaseModel):
    """``POST /api/v1/opportunities/{id}/move``: the stage to go to, the feedback its form asks for,
    and any fields the move needs (e.g. ``amount`` to leave 报价, ``lost_reason`` for 输单)."""

    model_config = ConfigDict(extra="forbid")
    stage: str = Field(min_length=1, max_length=40, json_schema_extra=label("Stage", "阶段"))
    feedback: dict[str, Any] = Field(default_factory=dict, json_schema_extra=label("Stage feedback", "阶段反馈"))
    values: dict[str, Any] = Field(default_factory=dict, json_schema_extra=label("Fields", "字段"))
