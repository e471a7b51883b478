"""Board and tab metadata (docs/layout-metadata.md): a kanban card shows the fields its entity
declares, each column totals the declared amount over every record the reader may see (not only
the cards shown), and the record page has a tab per declared related entity with its count."""

from __future__ import annotations

import re
from decimal import Decimal
from html import unescape
from typing import Any, Literal

import pytest
import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from kernel import Actor, Entity, Money, RecordMixin, hookimpl
from kernel.entities import check_entity
from kernel.testing import plugin_module
from kernel.web.app import create_app
from tests.web.test_ui import add_user, signed_in

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
SYSTEM = Actor.system("cli")


class DealBase(DeclarativeBase):
    """The test's own tables, outside the kernel's metadata and migrations."""


class Account(RecordMixin, DealBase):
    __tablename__ = "board_accounts"
    name: Mapped[str] = mapped_column(sa.String(100))
    owner_id: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)


class Deal(RecordMixin, DealBase):
    __tablename__ = "board_deals"
    title: Mapped[str] = mapped_column(sa.String(100))
    stage: Mapped[str] = mapped_column(sa.String(20), default="new")
    amount: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    account_id: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    owner_id: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)


class AccountFields(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=100)
    owner_id: int | None = None


class DealFields(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(max_length=100)
    stage: Literal["new", "won", "lost"] = "new"
    amount: Decimal = Decimal("0")
    account_id: int | None = None
    owner_id: int | None = None


def deal_entity(**layout: Any) -> Entity:
    return Entity(
        "deals", {"en": "Deal", "zh_CN": "商机"}, {"en": "Deals", "zh_CN": "商机"}, Deal, DealFields, owner_field="owner_id", **layout,
    )


@hookimpl
def register_entities() -> list[Entity]:
    return [
        Entity("accounts", {"en": "Account", "zh_CN": "账户"}, {"en": "Accounts", "zh_CN": "账户"}, Account, AccountFields,
               owner_field="owner_id", tab_counts=("deals",)),
        deal_entity(card_fields=("account_id", "amount"), card_total="amount"),
    ]


deals_plugin = plugin_module("board_deals", register_entities=register_entities)


@pytest.fixture
def site(make_site):
    site = make_site(deals_plugin, default_locale="en")
    DealBase.metadata.create_all(site.engine)
    return site


@pytest.fixture
def people(site):
    return {"rep": add_user(site, "rep@example.com", "sales_rep"), "other": add_user(site, "other@example.com", "sales_rep")}


def actor(user: dict[str, Any]) -> Actor:
    return Actor(user_id=user["id"], label=user["email"], role=user["role"])


@pytest.fixture
def book(site, people):
    rep, other = actor(people["rep"]), actor(people["other"])
    acme = site.records.create(rep, "accounts", {"name": "ACME"})
    for title, stage, amount, who in (("A", "new", "100.50", rep), ("B", "new", "20.00", rep), ("C", "won", "7.25", rep), ("X", "new", "999.00", other)):
        site.records.create(who, "deals", {"title": title, "stage": stage, "amount": amount, "account_id": acme["id"] if who is rep else None})
    return acme


def lane(page: str, stage: str) -> str:
    start = page.index(f'data-lane="{stage}"')
    end = page.find('<section class="lane"', start)
    return page[start:end if end > 0 else None]


def test_cards_show_the_declared_fields_and_columns_total_the_readers_amounts(site, people, book):
    client, _ = signed_in(create_app(site=site), "rep@example.com")
    page = unescape(client.get("/r/deals/kanban").text)
    new, won = lane(page, "new"), lane(page, "won")
    # the rep's two new deals, not the colleague's 999 (record rules apply to the total too)
    assert re.search(r"data-lane-total>[^<]*120\.50<", new), new
    assert re.search(r"data-lane-total>[^<]*7\.25<", won)
    assert re.search(r"data-lane-total>—<", lane(page, "lost"))
    card = new[new.index(">A</a>"):]
    assert 'data-card-field="account_id"' in card and "ACME" in card.split("</article>")[0]
    assert re.search(r'data-card-field="amount"><dt>Amount</dt><dd>[^<]*100\.50<', card)


def test_a_move_answers_the_new_totals(site, people, book):
    client, token = signed_in(create_app(site=site), "rep@example.com")
    deal = next(d for d in site.records.list(actor(people["rep"]), "deals").items if d["title"] == "A")
    answer = client.post("/r/deals/kanban", data={"csrf_token": token, "id": str(deal["id"]), "stage": "won"}, headers={"Accept": "application/json"})
    assert answer.status_code == 200
    totals = answer.json()["totals"]
    assert totals["new"].endswith("20.00") and totals["won"].endswith("107.75") and "lost" not in totals


def test_without_the_declarations_a_card_is_its_title(site, people, book, monkeypatch):
    plain = deal_entity()
    monkeypatch.setitem(site.view.entities, "deals", plain)
    client, _ = signed_in(create_app(site=site), "rep@example.com")
    page = client.get("/r/deals/kanban").text
    assert "data-card-field" not in page and "data-lane-total" not in page


def test_the_record_page_has_a_tab_per_declared_relation_with_its_count(site, people, book):
    client, _ = signed_in(create_app(site=site), "rep@example.com")
    page = client.get(f"/r/accounts/{book['id']}").text
    tab = re.search(r'<a role="tab" id="tab-related-deals-account_id" href="\?tab=related-deals-account_id"[^>]*>([^<]*)<span class="count" data-tab-count>(\d+)</span>', page)
    assert tab and tab.group(1).strip() == "Deals" and tab.group(2) == "3"
    opened = client.get(f"/r/accounts/{book['id']}?tab=related-deals-account_id").text
    assert 'aria-selected="true" aria-controls="panel" data-related-tab' in opened
    panel = opened[opened.index('id="panel"'):]
    assert all(f">{title}</a>" in panel for title in ("A", "B", "C")) and "data-related-tab" not in panel


def test_a_bad_declaration_stops_start_up():
    with pytest.raises(TypeError, match="card_total names 'price'"):
        check_entity(deal_entity(card_total="price"))
    with pytest.raises(TypeError, match="card_fields names 'nope'"):
        check_entity(deal_entity(card_fields=("nope",)))
    with pytest.raises(TypeError, match="tab_counts"):
        check_entity(deal_entity(tab_counts="contacts"))
