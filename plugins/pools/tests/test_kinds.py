"""Pool kinds: declared by a client plugin, gone with it; the pool entity carries the rule columns."""

from __future__ import annotations

from kernel import Site
from plugins.pools import POOL_RULES, kind_of, kinds

from .conftest import make_pool


def test_a_client_declares_its_kind(site: Site) -> None:
    found = kinds(site)
    assert list(found) == ["items"]
    kind = kind_of(site, "items")
    assert kind is not None and kind.pool_entity == "item_pools" and kind.plugin == "pooltest"


def test_the_pool_entity_carries_every_rule_column(site: Site) -> None:
    pool = make_pool(site, claim_limit=3, level_overrides={"A": {"followup_days": 30}})
    for name in ("name", *POOL_RULES):
        assert name in pool
    assert pool["claim_limit"] == 3 and pool["level_overrides"] == {"A": {"followup_days": 30}}
    assert pool["assignment"] == "manual" and pool["member_ids"] == []


def test_a_disabled_clients_kinds_vanish(site: Site, people: dict, http) -> None:
    admin = http(people["admin"])
    assert admin.post("/api/v1/meta/plugins/pooltest/disable").status_code == 200
    site.refresh(force=True)
    assert kinds(site) == {}
    assert admin.post("/api/v1/meta/plugins/pooltest/enable").status_code == 200
    site.refresh(force=True)
    assert list(kinds(site)) == ["items"]
