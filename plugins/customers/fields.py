"""What callers may send for each entity (pydantic), with en / zh_CN labels for fields and choices.

Labels travel in the JSON Schema of each field: ``x-label`` for the field,
``x-labels`` for the choices of an enumerated one (as custom fields do).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .creditcode import credit_code_problem

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_PHONE = re.compile(r"^[0-9+()\-\s.]{3,40}$")
PhoneText = Annotated[str, Field(max_length=40)]
EmailText = Annotated[str, Field(max_length=254)]
TagText = Annotated[str, Field(min_length=1, max_length=40)]


def label(en: str, zh: str, **extra: Any) -> dict[str, Any]:
    """``json_schema_extra`` carrying a field's labels (and choice labels)."""
    return {"x-label": {"en": en, "zh_CN": zh}, **extra}


def choices(**labels: tuple[str, str]) -> dict[str, dict[str, str]]:
    return {value: {"en": en, "zh_CN": zh} for value, (en, zh) in labels.items()}


KINDS = choices(company=("Company", "企业"), individual=("Individual", "个人"))
STATUSES = choices(potential=("Potential", "潜在"), active=("Active", "活跃"), dormant=("Dormant", "沉睡"), lost=("Lost", "流失"))
METHODS = choices(call=("Call", "电话"), visit=("Visit", "拜访"), wechat=("WeChat", "微信"), email=("Email", "邮件"), meeting=("Meeting", "会议"))
PRIORITIES = choices(low=("Low", "低"), normal=("Normal", "普通"), high=("High", "高"), urgent=("Urgent", "紧急"))
TASK_STATUSES = choices(open=("Open", "进行中"), done=("Done", "已完成"), cancelled=("Cancelled", "已取消"))


def _check_phone(value: str | None) -> str | None:
    if value is not None and not _PHONE.match(value):
        raise ValueError("is not a phone number (digits, spaces, +, -, parentheses)")
    return value


def _check_email(value: str | None) -> str | None:
    if value is not None and not _EMAIL.match(value):
        raise ValueError("is not an email address")
    return value


class _Reachable(BaseModel):
    """Phones and emails, shared by customers and contacts."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    phone: str | None = Field(None, max_length=40, json_schema_extra=label("Phone", "电话", **{"x-format": "phone"}))
    phones: list[PhoneText] = Field(default_factory=list, max_length=20, json_schema_extra=label("Other phones", "其他电话", **{"x-format": "phone"}))
    email: str | None = Field(None, max_length=254, json_schema_extra=label("Email", "邮箱"))
    emails: list[EmailText] = Field(default_factory=list, max_length=20, json_schema_extra=label("Other emails", "其他邮箱"))

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return _check_phone(value)

    @field_validator("phones")
    @classmethod
    def _phones(cls, values: list[str]) -> list[str]:
        return [_check_phone(v.strip()) or "" for v in values]

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return _check_email(value)

    @field_validator("emails")
    @classmethod
    def _emails(cls, values: list[str]) -> list[str]:
        return [_check_email(v.strip()) or "" for v in values]


class CustomerFields(_Reachable):
    name: str = Field(min_length=1, max_length=200, json_schema_extra=label("Name", "名称"))
    kind: Literal["company", "individual"] = Field("company", json_schema_extra=label("Type", "类型", **{"x-labels": KINDS}))
    # codes of option lists admins edit (plugins/customers/options.py); a label is accepted too and stored as its code
    level: str | None = Field(None, max_length=40, json_schema_extra=label("Level", "级别", **{"x-options": "customers.level"}))
    industry: str | None = Field(None, max_length=80, json_schema_extra=label("Industry", "行业", **{"x-options": "customers.industry"}))
    region: str | None = Field(None, max_length=80, json_schema_extra=label("Region", "地区", **{"x-options": "customers.region"}))
    source: str | None = Field(None, max_length=80, json_schema_extra=label("Source", "来源", **{"x-options": "customers.source"}))
    status: Literal["potential", "active", "dormant", "lost"] = Field(
        "potential", json_schema_extra=label("Status", "状态", **{"x-labels": STATUSES})
    )
    owner_id: int | None = Field(None, ge=1, json_schema_extra=label("Owner", "负责人"))
    team_id: int | None = Field(None, ge=1, json_schema_extra=label("Team", "团队"))
    sea_id: int | None = Field(None, ge=1, json_schema_extra=label("Public sea", "公海"))
    shared_user_ids: list[int] = Field(default_factory=list, max_length=200, json_schema_extra=label("Shared with users", "共享给用户", **{"x-entity": "users"}))
    shared_team_ids: list[int] = Field(default_factory=list, max_length=50, json_schema_extra=label("Shared with teams", "共享给团队", **{"x-entity": "teams"}))
    tags: list[TagText] = Field(default_factory=list, max_length=50, json_schema_extra=label("Tags", "标签"))
    address: str | None = Field(None, max_length=500, json_schema_extra=label("Address", "地址"))
    website: str | None = Field(None, max_length=254, json_schema_extra=label("Website", "网站"))
    credit_code: str | None = Field(None, max_length=18, json_schema_extra=label("Unified social credit code", "统一社会信用代码"))
    last_followed_at: datetime | None = Field(None, json_schema_extra=label("Last followed up", "最近跟进"))
    churn_flag: bool = Field(False, json_schema_extra=label("Churn risk", "流失预警", **{"x-system": True}))
    churn_reason: str | None = Field(None, max_length=300, json_schema_extra=label("Churn reason", "预警原因", **{"x-system": True}))
    churn_flagged_at: datetime | None = Field(None, json_schema_extra=label("Flagged at", "预警时间", **{"x-system": True}))

    @field_validator("credit_code")
    @classmethod
    def _credit_code(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        code = value.strip().upper()
        problem = credit_code_problem(code)
        if problem:
            raise ValueError(problem)
        return code


class ContactFields(_Reachable):
    customer_id: int = Field(ge=1, json_schema_extra=label("Customer", "客户"))
    name: str = Field(min_length=1, max_length=120, json_schema_extra=label("Name", "姓名"))
    title: str | None = Field(None, max_length=120, json_schema_extra=label("Title / role", "职务/角色"))
    wechat: str | None = Field(None, max_length=80, json_schema_extra=label("WeChat ID", "微信号"))
    birthday: date | None = Field(None, json_schema_extra=label("Birthday", "生日"))
    notes: str | None = Field(None, max_length=5000, json_schema_extra=label("Notes", "备注"))
    is_primary: bool = Field(False, json_schema_extra=label("Primary contact", "首要联系人"))


class _Related(BaseModel):
    """A customer, or any other record by entity name and id."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    customer_id: int | None = Field(None, ge=1, json_schema_extra=label("Customer", "客户"))
    entity: str | None = Field(None, max_length=80, pattern=r"^[a-z][a-z0-9_]*$", json_schema_extra=label("Related entity", "关联对象"))
    record_id: int | None = Field(None, ge=1, json_schema_extra=label("Related record", "关联记录"))


class FollowupFields(_Related):
    method: Literal["call", "visit", "wechat", "email", "meeting"] = Field(
        json_schema_extra=label("Method", "方式", **{"x-labels": METHODS})
    )
    content: str = Field("", max_length=20000, json_schema_extra=label("Content", "内容"))
    followed_at: datetime | None = Field(None, json_schema_extra=label("Followed up at", "跟进时间"))
    next_at: datetime | None = Field(None, json_schema_extra=label("Next follow-up", "下次跟进"))
    owner_id: int | None = Field(None, ge=1, json_schema_extra=label("Owner", "负责人"))


class TaskFields(_Related):
    title: str = Field(min_length=1, max_length=200, json_schema_extra=label("Title", "标题"))
    description: str = Field("", max_length=20000, json_schema_extra=label("Description", "描述"))
    assignee_id: int | None = Field(None, ge=1, json_schema_extra=label("Assignee", "执行人"))
    priority: Literal["low", "normal", "high", "urgent"] = Field(
        "normal", json_schema_extra=label("Priority", "优先级", **{"x-labels": PRIORITIES})
    )
    status: Literal["open", "done", "cancelled"] = Field(
        "open", json_schema_extra=label("Status", "状态", **{"x-labels": TASK_STATUSES})
    )
    due_at: datetime | None = Field(None, json_schema_extra=label("Due", "截止时间"))
    remind_at: datetime | None = Field(None, json_schema_extra=label("Remind at", "提醒时间"))
    reminded_at: datetime | None = Field(None, json_schema_extra=label("Reminded at", "已提醒时间"))
    done_at: datetime | None = Field(None, json_schema_extra=label("Done at", "完成时间"))


class MergeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    other_id: int = Field(ge=1, json_schema_extra=label("Customer merged into this one", "被合并的客户"))
    fields: dict[str, Literal["this", "other"]] = Field(
        default_factory=dict, json_schema_extra=label("Which side's value to keep, per field", "逐字段保留哪一方的值")
    )


class UnmergeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    merge_id: int = Field(ge=1, json_schema_extra=label("Merge to undo", "要撤销的合并"))
