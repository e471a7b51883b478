"""What callers may send for leads and lead pools (pydantic), with en / zh_CN labels in the JSON Schema
(``x-label`` for a field, ``x-labels`` for fixed choices, ``x-options`` for an option list admins edit)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from plugins.pools import PoolFields

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_PHONE = re.compile(r"^[0-9+()\-\s.]{3,40}$")
#: Fields a routing rule may test besides ``custom.NAME``.
ROUTABLE = ("region", "industry", "source", "company", "title")
MAX_SCORE = 100
CUSTOM = re.compile(r"^custom\.[a-z][a-z0-9_]{0,62}$")


def label(en: str, zh: str, **extra: Any) -> dict[str, Any]:
    return {"x-label": {"en": en, "zh_CN": zh}, **extra}


STATUSES = {
    "new": {"en": "New", "zh_CN": "新线索"},
    "assigned": {"en": "Assigned", "zh_CN": "已分配"},
    "contacting": {"en": "Contacting", "zh_CN": "跟进中"},
    "qualified": {"en": "Qualified", "zh_CN": "已确认"},
    "converted": {"en": "Converted", "zh_CN": "已转化"},
    "invalid": {"en": "Invalid", "zh_CN": "无效"},
}


class LeadFields(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=120, json_schema_extra=label("Name", "姓名"))
    company: str | None = Field(None, max_length=200, json_schema_extra=label("Company", "公司"))
    title: str | None = Field(None, max_length=120, json_schema_extra=label("Job title", "职务"))
    phone: str | None = Field(None, max_length=40, json_schema_extra=label("Phone", "电话", **{"x-format": "phone"}))
    email: str | None = Field(None, max_length=254, json_schema_extra=label("Email", "邮箱"))
    wechat: str | None = Field(None, max_length=80, json_schema_extra=label("WeChat ID", "微信号"))
    source: str | None = Field(None, max_length=80, json_schema_extra=label("Source", "来源", **{"x-options": "leads.source"}))
    region: str | None = Field(None, max_length=80, json_schema_extra=label("Region", "地区", **{"x-options": "customers.region"}))
    industry: str | None = Field(None, max_length=80, json_schema_extra=label("Industry", "行业", **{"x-options": "customers.industry"}))
    pool_id: int | None = Field(None, ge=1, lt=2**63, json_schema_extra=label("Lead pool", "线索池", **{"x-entity": "lead_pools"}))
    owner_id: int | None = Field(None, ge=1, lt=2**63, json_schema_extra=label("Owner", "负责人"))
    status: Literal["new", "assigned", "contacting", "qualified", "converted", "invalid"] = Field(
        "new", json_schema_extra=label("Status", "状态", **{"x-labels": STATUSES})
    )
    score: int = Field(0, ge=0, le=MAX_SCORE, json_schema_extra=label("Score", "评分", **{"x-system": True}))
    score_reasons: list[dict[str, Any]] = Field(
        default_factory=list, max_length=100, json_schema_extra=label("Why this score", "评分依据", **{"x-system": True})
    )
    last_followed_at: datetime | None = Field(None, json_schema_extra=label("Last followed up", "最近跟进", **{"x-system": True}))
    notes: str | None = Field(None, max_length=5000, json_schema_extra=label("Notes", "备注"))
    invalid_reason: str | None = Field(
        None, max_length=80, json_schema_extra=label("Why invalid", "无效原因", **{"x-options": "leads.invalid_reasons"})
    )
    customer_id: int | None = Field(None, ge=1, lt=2**63, json_schema_extra=label("Customer", "客户", **{"x-entity": "customers", "x-system": True}))
    contact_id: int | None = Field(None, ge=1, lt=2**63, json_schema_extra=label("Contact", "联系人", **{"x-entity": "contacts", "x-system": True}))
    opportunity_id: int | None = Field(None, ge=1, lt=2**63, json_schema_extra=label("Opportunity", "商机", **{"x-system": True}))
    converted_at: datetime | None = Field(None, json_schema_extra=label("Converted at", "转化时间", **{"x-system": True}))

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value is not None and value != "" and not _PHONE.match(value):
            raise ValueError("is not a phone number (digits, spaces, +, -, parentheses)")
        return value or None

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and value != "" and not _EMAIL.match(value):
            raise ValueError("is not an email address")
        return value or None

    @field_validator("score_reasons")
    @classmethod
    def _reasons(cls, values: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for value in values:
            lab = value.get("label")
            if set(value) != {"label", "points"} or not isinstance(value.get("points"), int) or not (
                isinstance(lab, dict) and set(lab) == {"en", "zh_CN"} and all(isinstance(v, str) for v in lab.values())
            ):
                raise ValueError('each reason is {"label": {"en": ..., "zh_CN": ...}, "points": N}')
        return values


def check_routing_rule(rule: Any) -> dict[str, Any]:
    """One routing rule: ``{"field": F, "value": V}`` or ``{"field": F, "in": [V, ...]}``, ``F`` among
    :data:`ROUTABLE` or ``custom.NAME``; a new unowned lead whose field matches goes to the pool."""
    if not isinstance(rule, dict):
        raise ValueError('each rule is {"field": ..., "value": ...} or {"field": ..., "in": [...]}')
    unknown = sorted(set(rule) - {"field", "value", "in"})
    if unknown:
        raise ValueError(f"unknown key {unknown[0]!r} in a rule")
    field = rule.get("field")
    if not isinstance(field, str) or (field not in ROUTABLE and not CUSTOM.match(field)):
        raise ValueError(f"a rule's field must be one of {', '.join(ROUTABLE)} or custom.NAME")
    if ("value" in rule) == ("in" in rule):
        raise ValueError('a rule gives either "value" or "in"')
    if "in" in rule and (not isinstance(rule["in"], list) or not rule["in"] or len(rule["in"]) > 500):
        raise ValueError('a rule\'s "in" is a list of 1 to 500 values')
    values = rule["in"] if "in" in rule else [rule["value"]]
    if not all(v is None or isinstance(v, (str, int, float, bool)) for v in values):
        raise ValueError("a rule's values are texts, numbers or booleans")
    return dict(rule)


class LeadPoolFields(PoolFields):
    routing_rules: list[dict[str, Any]] = Field(default_factory=list, max_length=200, json_schema_extra=label("Routing rules", "分配规则"))
    is_default: bool = Field(False, json_schema_extra=label("Default pool", "默认线索池"))

    @field_validator("routing_rules")
    @classmethod
    def _rules(cls, values: list[Any]) -> list[dict[str, Any]]:
        return [check_routing_rule(v) for v in values]


class ConvertBody(BaseModel):
    """``POST /api/v1/leads/{id}/convert``."""

    model_config = ConfigDict(extra="forbid")
    create_opportunity: bool = Field(False, json_schema_extra=label("Create an opportunity", "同时创建商机"))
    customer_id: int | None = Field(None, ge=1, lt=2**63, json_schema_extra=label("Attach to customer", "关联已有客户"))
