"""Cross-plugin hooks: other plugins hear of outcomes in the move's transaction, a converted lead opens an
opportunity only when this plugin is enabled, and the sea counts a customer with a won deal as closed."""

from __future__ import annotations

import importlib

import sqlalchemy as sa

from kernel import Actor

from . import outcomeplugin
from .conftest import make_customer, make_opportunity
from .support import SYSTEM, required_plugins

HOLDINGS = sa.table("pools_holdings", sa.column("entity"), sa.column("pool_id"), sa.column("user_id"), sa.column("held"))


def _people(site):
    team = site.records.create(SYSTEM, "teams", {"name": "North"})
    user = site.records.create(SYSTEM, "users", {"email": "rep@example.com", "name": "Rep", "role": "sales_rep", "team_id": team["id"]})
    return Actor(user_id=user["id"], label=user["email"], role="sales_rep", team_id=team["id"])


def test_outcome_changes_reach_other_plugins_inside_the_move(make_site):
    site = make_site(*required_plugins(), outcomeplugin)
    rep = _people(site)
    customer = make_customer(site, rep)
    deal = make_opportunity(site, rep, customer)
    outcomeplugin.HEARD.clear()
    site.records.act(rep, "opportunities", deal["id"], "move", {"stage": "needs"})
    assert outcomeplugin.HEARD == []  # open → open is no change of outcome
    site.records.act(rep, "opportunities", deal["id"], "move", {"stage": "won"})
    site.records.act(rep, "opportunities", deal["id"], "move", {"stage": "negotiation", "values": {"expected_close": "2026-03-01"}})
    assert outcomeplugin.HEARD == [(deal["id"], "open", "won"), (deal["id"], "won", "open")]
    vetoed = make_opportunity(site, rep, customer, name="veto")
    try:
        site.records.act(rep, "opportunities", vetoed["id"], "move", {"stage": "won"})
    except Exception as exc:  # noqa: BLE001 - the refusal itself is checked below
        assert getattr(exc, "status", None) == 422
    after = site.records.get(rep, "opportunities", vetoed["id"])
    assert (after["stage"], after["outcome"]) == ("inquiry", "open")  # the listener's refusal undid the whole move


def _leads_site(make_site, *, pipeline: bool):
    """customers, pools and the real ``leads`` (loaded by name, like customers), with or without this plugin."""
    names = ("customers", "pools", "leads", *(("pipeline",) if pipeline else ()))
    return make_site(*(importlib.import_module(f"plugins.{name}.plugin") for name in names))


def _convert(site, rep, **body):
    lead = site.records.create(rep, "leads", {"name": "王经理", "company": "深圳星河科技", "source": "fair", "phone": "13800138000"})
    return lead, site.records.act(rep, "leads", lead["id"], "convert", {"create_opportunity": True, **body})


def test_a_converted_lead_opens_an_opportunity_only_with_this_plugin(make_site):
    site = _leads_site(make_site, pipeline=True)
    rep = _people(site)
    lead, answer = _convert(site, rep)
    deal = site.records.get(rep, "opportunities", answer["opportunity_id"])
    assert (deal["customer_id"], deal["stage"], deal["lead_id"], deal["owner_id"]) == (answer["customer_id"], "inquiry", lead["id"], rep.user_id)
    assert deal["name"] == "深圳星河科技" and deal["contact_ids"] == [answer["contact_id"]]
    assert site.records.get(rep, "pipelines", deal["pipeline_id"])["is_default"] is True
    assert site.records.get(rep, "leads", lead["id"])["opportunity_id"] == deal["id"]


def test_without_this_plugin_a_converted_lead_opens_none(make_site):
    site = _leads_site(make_site, pipeline=False)
    rep = _people(site)
    lead, answer = _convert(site, rep)
    assert answer["opportunity_id"] is None and answer["customer_id"] is not None
    assert "opportunities" not in site.view.entities


def test_the_sea_counts_a_customer_with_a_won_deal_as_closed(make_site, clock):
    plugins = [importlib.import_module(f"plugins.{name}.plugin") for name in ("customers", "pools", "sea", "pipeline")]
    site = make_site(*plugins)
    rep = _people(site)
    sea = site.records.create(SYSTEM, "seas", {"name": "华东公海", "admin_ids": [], "member_ids": [rep.user_id], "close_days": 30,
                                                "claim_limit": 5})
    won, other = (site.records.create(SYSTEM, "customers", {"name": name, "kind": "company", "owner_id": None, "sea_id": sea["id"]})
                  for name in ("赢单客户", "普通客户"))
    for customer in (won, other):
        site.records.act(rep, "customers", customer["id"], "claim", {})

    def held():
        with site.engine.connect() as conn:
            return conn.scalar(sa.select(HOLDINGS.c.held).where(HOLDINGS.c.entity == "customers", HOLDINGS.c.pool_id == sea["id"],
                                                                 HOLDINGS.c.user_id == rep.user_id))

    assert held() == 2
    deal = make_opportunity(site, rep, won)
    site.records.act(rep, "opportunities", deal["id"], "move", {"stage": "won"})
    assert held() == 1  # the won deal closed its customer at once (sea's pipeline_outcome_changed)
    clock.advance(days=31)
    from kernel.testing import fire_due_timers

    fire_due_timers(site)
    owners = {c["id"]: site.records.get(SYSTEM, "customers", c["id"])["owner_id"] for c in (won, other)}
    assert owners == {won["id"]: rep.user_id, other["id"]: None}  # sea_customer_closed_ids kept the won one
