"""Recycling on the moved clock through the pools' timers: a lead not followed up within followup_days
goes back to its pool (a reminder first), a follow-up moves the deadline, close_days returns an
unconverted lead, a converted one never returns, and the old owner's cooldown names its end."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from click.testing import CliRunner

from kernel.testing import cli, fire_due_timers, list_notifications

from .conftest import SYSTEM, make_leads, make_pool
from .support import held, owner_of


def last_event(site: Any, lead: dict[str, Any]) -> dict[str, Any]:
    table = sa.table("kernel_ownership_events", *(sa.column(n) for n in ("id", "entity", "record_id", "from_owner", "action", "reason", "rule")))
    with site.engine.connect() as conn:
        row = conn.execute(sa.select(table).where(table.c.entity == "leads", table.c.record_id == lead["id"]).order_by(table.c.id.desc())).first()
    return dict(row._mapping)


def jobs_run_now(tmp_path: Any, database_url: str, now: Any) -> None:
    """``crm jobs run --now`` against the test's database."""
    config = tmp_path / "crm.toml"
    config.write_text(f'[crm]\ndatabase_url = {json.dumps(database_url)}\nplugins = ["customers", "pools", "leads"]\n', encoding="utf-8")
    result = CliRunner().invoke(cli(), ["--config", str(config), "jobs", "run", "--now", now.isoformat()], prog_name="crm")
    assert result.exit_code == 0, result.output


def test_an_unfollowed_lead_goes_back_after_followup_days_with_a_reminder_first(site, people, http, clock, tmp_path, database_url):
    rep = people["rep"]
    pool = make_pool(site, people, followup_days=3, remind_hours=24, cooldown_days=5)
    kept, lost = make_leads(site, pool["id"], 2)
    for lead in (kept, lost):
        assert http(rep).post(f"/api/v1/leads/{lead['id']}/claim", json={}).status_code == 200
    clock.advance(days=1)
    site.records.create(rep, "followups", {"entity": "leads", "record_id": kept["id"], "method": "call", "content": "约了面谈"})
    clock.advance(days=1, hours=1)  # 2 days 1 h after the claim: within 24 h of the deadline
    fire_due_timers(site)
    titles = [n["title"] for n in list_notifications(site, rep.user_id)["items"]]
    assert len(titles) == 1, titles  # only the lead not followed up
    assert owner_of(site, lost) == rep.user_id
    clock.advance(hours=24)  # 3 days 1 h after the claim
    jobs_run_now(tmp_path, database_url, clock.now())
    assert owner_of(site, lost) is None and owner_of(site, kept) == rep.user_id
    back = site.records.get(SYSTEM, "leads", lost["id"])
    assert (back["pool_id"], back["status"]) == (pool["id"], "new")
    event = last_event(site, lost)
    assert (event["action"], event["rule"], event["from_owner"]) == ("return", "followup_days", rep.user_id)
    assert held(site, pool["id"], rep.user_id) == 1
    refused = http(rep).post(f"/api/v1/leads/{lost['id']}/claim", json={})
    assert refused.status_code == 409 and "2026-01-13" in refused.json()["error"]["message"], refused.text  # 5 days' cooldown
    assert http(people["rep2"]).post(f"/api/v1/leads/{lost['id']}/claim", json={}).status_code == 200
    clock.advance(days=2)  # kept: 3 days after its follow-up (day 1)
    fire_due_timers(site)
    assert owner_of(site, kept) is None
    assert site.records.get(SYSTEM, "leads", kept["id"])["status"] == "contacting"  # contacted once: stays so in the pool


def test_close_days_returns_an_unconverted_lead_but_never_a_converted_one(site, people, http, clock):
    rep = people["rep"]
    pool = make_pool(site, people, close_days=10, followup_days=30)
    open_lead, won = make_leads(site, pool["id"], 2)
    for lead in (open_lead, won):
        assert http(rep).post(f"/api/v1/leads/{lead['id']}/claim", json={}).status_code == 200
    clock.advance(days=4)
    assert http(rep).post(f"/api/v1/leads/{won['id']}/convert", json={}).status_code == 200
    assert held(site, pool["id"], rep.user_id) == 1  # a converted lead stops counting at once
    clock.advance(days=6, hours=1)
    fire_due_timers(site)
    assert owner_of(site, open_lead) is None and owner_of(site, won) == rep.user_id
    assert last_event(site, open_lead)["rule"] == "close_days"
    clock.advance(days=60)
    fire_due_timers(site)
    assert owner_of(site, won) == rep.user_id


def test_a_returned_lead_is_placed_again_by_the_pools_strategy_never_with_its_old_owner(site, people, clock):
    pool = make_pool(site, people, assignment="round_robin", followup_days=2, cooldown_days=3)
    lead = make_leads(site, pool["id"], 1)[0]
    first = owner_of(site, lead)
    assert first is not None
    clock.advance(days=2, hours=1)
    fire_due_timers(site)
    second = owner_of(site, lead)
    assert second is not None and second != first
    assert site.records.get(SYSTEM, "leads", lead["id"])["status"] == "assigned"
