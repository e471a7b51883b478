"""The skeleton holds: the plugin loads with customers, seeds 企业销售 on first use, creates an
opportunity in the first stage with the stage's probability, and its migration matches its models."""

from __future__ import annotations

from decimal import Decimal

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from plugins.pipeline import stages_of

from .conftest import make_customer, make_opportunity


def test_a_first_opportunity_goes_to_the_first_stage_of_the_seeded_default_pipeline(site, people):
    customer = make_customer(site, people["rep"])
    deal = make_opportunity(site, people["rep"], customer, amount="120000.50")
    assert deal["stage"] == "inquiry" and deal["outcome"] == "open" and deal["probability"] == 10
    assert deal["amount"] == Decimal("120000.50") and deal["currency"] == "CNY"
    assert deal["owner_id"] == people["rep"].user_id and deal["team_id"] == people["rep"].team_id
    with site.engine.connect() as conn:
        stages = stages_of(site, conn, deal["pipeline_id"])
    assert [s.label["zh_CN"] for s in stages] == ["咨询", "需求确认", "报价", "方案评估", "谈判", "赢单", "输单", "无效"]
    assert [s.kind for s in stages][-3:] == ["won", "lost", "invalid"]
    pipeline = site.records.get(people["admin"], "pipelines", deal["pipeline_id"])
    assert pipeline["name"] == "企业销售" and pipeline["is_default"] is True


def test_the_migration_matches_the_models(site):
    tables = {"pipeline_pipelines", "pipeline_opportunities", "pipeline_stage_rules"}
    metadata = site.view.entities["opportunities"].table.metadata

    def include(obj, name, type_, reflected, compare_to):
        owner = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", "")
        return owner in tables

    with site.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": include, "compare_type": True})
        assert compare_metadata(context, metadata) == []
