"""Aggregates under record rules: a fixed ledger whose figures are worked out by hand below."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from kernel import Actor, Entity, Money, RecordMixin, UTCDateTime, ValidationError, hookimpl
from kernel import systemsettings
from kernel.fielddefs import add_field
from kernel.testing import create_app, issue_token, plugin_module

SYSTEM = Actor.system("cli")
D = Decimal


class LedgerBase(DeclarativeBase):
    """A base of its own: the test's table stays out of the kernel's metadata (and migrations)."""


class Entry(RecordMixin, LedgerBase):
    __tablename__ = "ledger_entries"
    title: Mapped[str] = mapped_column(sa.String(100))
    kind: Mapped[str] = mapped_column(sa.String(20))
    amount: Mapped[Decimal] = mapped_column(Money())
    currency: Mapped[str] = mapped_column(sa.String(3))
    booked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    owner_id: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)


class EntryFields(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str
    kind: str
    amount: Decimal
    currency: str
    booked_at: datetime
    owner_id: int | None = None


@hookimpl
def register_entities() -> list[Entity]:
    return [Entity("entries", {"en": "Entry", "zh_CN": "条目"}, {"en": "Entries", "zh_CN": "条目"}, Entry, EntryFields, owner_field="owner_id")]


ledger = plugin_module("ledger", register_entities=register_entities)

# owner, amount, currency, booked at (UTC), kind, custom fee (CNY), custom channel
ROWS = [
    ("a", "100.10", "CNY", "2026-01-31T20:00:00Z", "new", "0.10", "web"),  # 1 Feb 04:00 in Shanghai
    ("a", "200.25", "CNY", "2026-01-15T10:00:00Z", "new", "0.20", "web"),
    ("a", "50.00", "USD", "2026-02-10T00:00:00Z", "renewal", None, "shop"),
    ("b", "0.35", "CNY", "2026-01-31T15:59:59Z", "renewal", "0.05", None),  # 23:59:59 on 31 Jan in Shanghai
    ("b", "1000.00", "CNY", "2026-03-31T16:00:00Z", "new", "1.01", "web"),  # 1 Apr in Shanghai: Q2
    ("c", "7.77", "CNY", "2026-02-01T00:00:00Z", "new", None, "shop"),
]


def actor(user: dict[str, Any]) -> Actor:
    return Actor(user_id=user["id"], label=user["email"], role=user["role"], team_id=user["team_id"])


@pytest.fixture
def books(make_site):
    site = make_site(ledger)
    LedgerBase.metadata.create_all(site.engine)
    add_field(site, SYSTEM, "entries", "fee", {"type": "number", "format": "money", "x-currency": "CNY"})
    add_field(site, SYSTEM, "entries", "channel", {"type": "string", "enum": ["web", "shop"], "x-labels": {"web": {"en": "Web", "zh_CN": "网站"}}})
    create = site.records.create
    east = create(SYSTEM, "teams", {"name": "east"})
    west = create(SYSTEM, "teams", {"name": "west"})
    users = {
        "a": create(SYSTEM, "users", {"email": "a@example.cn", "name": "Ann", "role": "sales_rep", "team_id": east["id"]}),
        "b": create(SYSTEM, "users", {"email": "b@example.cn", "name": "Bo", "role": "sales_rep", "team_id": east["id"]}),
        "c": create(SYSTEM, "users", {"email": "c@example.cn", "name": "Cy", "role": "sales_rep", "team_id": west["id"]}),
        "boss": create(SYSTEM, "users", {"email": "boss@example.cn", "name": "Boss", "role": "sales_manager", "team_id": east["id"]}),
    }
    site.records.update(SYSTEM, "teams", east["id"], {"manager_id": users["boss"]["id"]})
    for owner, amount, currency, at, kind, fee, channel in ROWS:
        custom = {k: v for k, v in (("fee", fee), ("channel", channel)) if v is not None}
        values = {"title": f"{owner} {amount}", "kind": kind, "amount": amount, "currency": currency, "booked_at": at, "custom": custom}
        create(actor(users[owner]), "entries", values)
    return site, {name: actor(user) for name, user in users.items()}


def table(found) -> list[tuple[Any, ...]]:
    return [tuple(group.get(k) for k in ("key", "currency", "count", "sum:amount")) for group in found.groups]


def test_sum_by_month_for_a_rep_a_manager_and_an_admin(books):
    site, who = books
    month = {"group_by": ["booked_at:month"], "measures": ["count", "sum:amount"]}
    assert table(site.records.aggregate(who["a"], "entries", **month)) == [
        ("2026-01-01", "CNY", 1, D("200.25")),
        ("2026-02-01", "CNY", 1, D("100.10")),  # 20:00 UTC on 31 Jan is February in Shanghai
        ("2026-02-01", "USD", 1, D("50.00")),  # never added to yuan
    ]
    assert table(site.records.aggregate(who["boss"], "entries", **month)) == [
        ("2026-01-01", "CNY", 2, D("200.60")),
        ("2026-02-01", "CNY", 1, D("100.10")),
        ("2026-02-01", "USD", 1, D("50.00")),
        ("2026-04-01", "CNY", 1, D("1000.00")),
    ]
    assert table(site.records.aggregate(SYSTEM, "entries", **month)) == [
        ("2026-01-01", "CNY", 2, D("200.60")),
        ("2026-02-01", "CNY", 2, D("107.87")),
        ("2026-02-01", "USD", 1, D("50.00")),
        ("2026-04-01", "CNY", 1, D("1000.00")),
    ]
    in_utc = site.records.aggregate(SYSTEM, "entries", time_zone="UTC", **month)
    assert table(in_utc)[:2] == [("2026-01-01", "CNY", 3, D("300.70")), ("2026-02-01", "CNY", 1, D("7.77"))]
    assert [g["label"] for g in in_utc.groups] == ["2026-01", "2026-02", "2026-02", "2026-03"]
    assert all(isinstance(g["sum:amount"], Decimal) for g in in_utc.groups)


def test_other_buckets_and_the_moving_time_zone_setting(books):
    site, who = books
    cny = {"currency": "CNY"}

    def keys(bucket: str, **extra: Any) -> list[tuple[str, str, int]]:
        found = site.records.aggregate(SYSTEM, "entries", group_by=[f"booked_at:{bucket}"], filters=cny, **extra)
        return [(g["key"], g["label"], g["count"]) for g in found.groups]

    assert keys("quarter") == [("2026-01-01", "2026-Q1", 4), ("2026-04-01", "2026-Q2", 1)]
    assert keys("year") == [("2026-01-01", "2026", 5)]
    assert keys("day") == [("2026-01-15", "2026-01-15", 1), ("2026-01-31", "2026-01-31", 1), ("2026-02-01", "2026-02-01", 2), ("2026-04-01", "2026-04-01", 1)]
    # Monday 26 Jan 2026 starts ISO week 5; 15 Jan is in week 3 (Monday 12 Jan)
    assert keys("week") == [("2026-01-12", "2026-W03", 1), ("2026-01-26", "2026-W05", 3), ("2026-03-30", "2026-W14", 1)]
    # a zone with summer time: New York is UTC-5 in winter; 1 Apr 00:00 Shanghai is 31 Mar 12:00 there
    assert keys("month", time_zone="America/New_York") == [("2026-01-01", "2026-01", 4), ("2026-03-01", "2026-03", 1)]
    # an admin's change of the site's zone moves the buckets (February's 20:00 UTC entry back to January)
    with pytest.raises(ValidationError) as raised:
        systemsettings.change(site, SYSTEM, "crm", {"time_zone": "Asia/Nowhere"})
    assert raised.value.details[0]["loc"] == ["time_zone"]
    systemsettings.change(site, SYSTEM, "crm", {"time_zone": "UTC"})
    assert keys("month") == [("2026-01-01", "2026-01", 3), ("2026-02-01", "2026-02", 1), ("2026-03-01", "2026-03", 1)]


def test_references_enums_custom_money_and_other_measures(books):
    site, who = books
    by_owner = site.records.aggregate(who["boss"], "entries", group_by=["owner_id"], measures=["count", "sum:fee", "avg:amount"], filters={"currency": "CNY"})
    assert [(g["label"], g["count"], g["sum:fee"], g["avg:amount"]) for g in by_owner.groups] == [
        ("Ann", 2, D("0.30"), D("150.18")),  # (100.10 + 200.25) / 2 = 150.175, half up
        ("Bo", 2, D("1.06"), D("500.18")),  # 1000.35 / 2 = 500.175
    ]
    by_channel = site.records.aggregate(SYSTEM, "entries", group_by=["channel"], measures=["count", "count_distinct:owner_id", "min:booked_at", "max:fee"], locale="zh_CN")
    assert [(g["key"], g["label"], g["count"], g["count_distinct:owner_id"], g["max:fee"]) for g in by_channel.groups] == [
        ("shop", "shop", 2, 2, None),
        ("web", "网站", 3, 2, D("1.01")),
        (None, "（未填）", 1, 1, D("0.05")),
    ]
    assert by_channel.groups[0]["min:booked_at"] == datetime(2026, 2, 1, tzinfo=timezone.utc)
    two = site.records.aggregate(SYSTEM, "entries", group_by=["kind", "currency"], measures=["sum:amount"], filters={"booked_at__lt": "2026-03-01T00:00:00Z"})
    assert [(g["key"], g["sum:amount"]) for g in two.groups] == [
        (["new", "CNY"], D("308.12")),
        (["renewal", "CNY"], D("0.35")),
        (["renewal", "USD"], D("50.00")),
    ]
    total = site.records.aggregate(who["c"], "entries", measures=["count", "sum:amount"])
    assert total.groups == [{"key": None, "label": None, "currency": "CNY", "count": 1, "sum:amount": D("7.77")}]
    assert site.records.aggregate(SYSTEM, "entries", group_by=["kind"], limit=1).truncated


@pytest.mark.parametrize(
    ("group_by", "measures", "filters", "loc"),
    [
        (["nope"], ["count"], {}, ["query", "group_by"]),
        (["booked_at"], ["count"], {}, ["query", "group_by"]),
        (["kind:month"], ["count"], {}, ["query", "group_by"]),
        (["booked_at:fortnight"], ["count"], {}, ["query", "group_by"]),
        (["kind"], ["median:amount"], {}, ["query", "measure"]),
        (["kind"], ["count", "sum:kind"], {}, ["query", "measure", 1]),
        (["kind"], ["count"], {"amount__gte": "ten"}, ["query", "amount__gte"]),
    ],
)
def test_bad_parameters_are_named(books, group_by, measures, filters, loc):
    site, _ = books
    with pytest.raises(ValidationError) as raised:
        site.records.aggregate(SYSTEM, "entries", group_by=group_by, measures=measures, filters=filters)
    assert raised.value.details[0]["loc"] == loc


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_the_route_answers_under_the_callers_rules(books, anyio_backend):
    site, who = books
    app = create_app(site=site)
    token = issue_token(site, who["a"].user_id)["token"]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://crm.test", headers={"Authorization": f"Bearer {token}"}) as client:
        answer = await client.get("/api/v1/entries/aggregate", params={"group_by": "booked_at:month", "measure": "count,sum:amount", "currency": "CNY"})
        assert answer.status_code == 200
        assert answer.json() == {
            "groups": [
                {"key": "2026-01-01", "label": "2026-01", "currency": "CNY", "count": 1, "sum:amount": "200.25"},
                {"key": "2026-02-01", "label": "2026-02", "currency": "CNY", "count": 1, "sum:amount": "100.10"},
            ],
            "truncated": False,
        }
        for params, loc in (
            ({"group_by": "booked_at:hour"}, ["query", "group_by"]),
            ({"measure": "sum:nothing"}, ["query", "measure"]),
            ({"measure": "count,"}, ["query", "measure"]),
            ({"limit": "0"}, ["query", "limit"]),
            ({"time_zone": "Mars/Olympus"}, ["query", "time_zone"]),
            ({"colour": "red"}, ["query", "colour"]),
        ):
            bad = await client.get("/api/v1/entries/aggregate", params=params)
            assert bad.status_code == 422, params
            assert bad.json()["error"]["details"][0]["loc"] == loc
        spec = (await client.get("/api/v1/openapi.json")).json()
        assert "/api/v1/entries/aggregate" in spec["paths"]


def test_targets_are_set_by_admins_and_set_beside_actuals(books):
    site, who = books
    from kernel import Forbidden, targets_vs_actuals

    east = who["a"].team_id
    create = site.records.create
    create(SYSTEM, "targets", {"metric": "booked", "period_start": "2026-02-01", "user_id": who["a"].user_id, "amount": "200.00", "currency": "CNY"})
    create(SYSTEM, "targets", {"metric": "booked", "period_start": "2026-01-01", "team_id": east, "amount": "400", "currency": "CNY"})
    create(SYSTEM, "targets", {"metric": "entries", "period_start": "2026-02-01", "count": 4})
    for bad, loc in (
        ({"period_start": "2026-02-02", "count": 1}, "period_start"),
        ({"period_start": "2026-02-01", "count": 1, "amount": "1.00", "currency": "CNY"}, "amount"),
        ({"period_start": "2026-02-01", "amount": "1.001", "currency": "CNY"}, "amount"),
        ({"period_start": "2026-02-01", "amount": "1.00"}, "currency"),
        ({"period": "quarter", "period_start": "2026-02-01", "count": 1}, "period_start"),
        ({"period_start": "2026-02-01", "count": 1, "user_id": 1, "team_id": east}, "team_id"),
    ):
        with pytest.raises(ValidationError) as raised:
            create(SYSTEM, "targets", {"metric": "booked", **bad})
        assert raised.value.details[0]["loc"] == [loc], bad
    with pytest.raises(Forbidden):
        create(who["a"], "targets", {"metric": "booked", "period_start": "2026-02-01", "count": 1})

    def table(actor: Actor, metric: str = "booked", measure: str = "sum:amount") -> list[tuple[Any, ...]]:
        rows = targets_vs_actuals(site, actor, metric, entity="entries", measure=measure, date_field="booked_at")
        return [(r["period_start"].isoformat(), r["user_id"] and "user", r["team_id"] and "team", r["target"], r["actual"], r["attainment"]) for r in rows]

    assert table(who["boss"]) == [
        ("2026-01-01", None, "team", D("400.00"), D("200.60"), D("0.5015")),  # Ann 200.25 + Bo 0.35 in January (Shanghai)
        ("2026-02-01", "user", None, D("200.00"), D("100.10"), D("0.5005")),  # Ann's yuan only, not her 50 dollars
    ]
    assert table(who["a"]) == [  # a rep sees her team's target, with the part of it she may see
        ("2026-01-01", None, "team", D("400.00"), D("200.25"), D("0.5006")),
        ("2026-02-01", "user", None, D("200.00"), D("100.10"), D("0.5005")),
    ]
    assert table(who["c"]) == []
    assert table(SYSTEM, "entries", "count") == [("2026-02-01", None, None, 4, 3, D("0.7500"))]
    assert table(who["c"], "entries", "count") == [("2026-02-01", None, None, 4, 1, D("0.2500"))]
