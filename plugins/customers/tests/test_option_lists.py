"""Level, industry, region and source are option lists: codes stored, labels shown, free text migrated."""

from __future__ import annotations

import sqlalchemy as sa
from kernel.testing import upgrade_to

from .conftest import SYSTEM, customer


def test_the_four_fields_take_codes_or_labels(site, people):
    record = customer(site, people["rep"], level="b", industry="软件", region="浙江 ", source="Trade show")
    assert (record["level"], record["industry"], record["region"], record["source"]) == ("B", "software", "zhejiang", "exhibition")
    assert customer(site, people["rep"], name="Hz", region="杭州")["region"] == "hangzhou"  # a city under its province
    assert site.view.option_lists["customers.region"].labels["hangzhou"]["zh_CN"] == "浙江 / 杭州"


def test_upgrading_maps_free_text_to_options_and_flags_the_rest(make_site, people_for, http_for):
    site = make_site(plugins=("customers",), migrate=False)
    upgrade_to(site, "core@head", "customers@139474bfd05f")  # before option lists
    people = people_for(site)
    typed = {"Shanghai": ("上海", "Retail", "A"), "SH2": (" shanghai", "零售", "a"), "East": ("华东", "retail ", "Gold"), "Hub": ("华东", "Fintech", None)}
    table = site.view.entities["customers"].table
    ids = {}
    for name, (region, industry, level) in typed.items():
        ids[name] = customer(site, people["rep"], name=name)["id"]
        with site.write() as conn:  # what free text left behind
            conn.execute(sa.update(table).where(table.c.id == ids[name]).values(region=region, industry=industry, level=level))

    upgrade_to(site)

    got = {name: site.records.get(SYSTEM, "customers", id_) for name, id_ in ids.items()}
    assert got["Shanghai"]["region"] == got["SH2"]["region"] == "shanghai"
    assert {got[n]["industry"] for n in ("Shanghai", "SH2", "East")} == {"retail"}
    assert got["Shanghai"]["level"] == got["SH2"]["level"] == "A"
    region = site.view.option_lists["customers.region"]
    east = region.option(got["East"]["region"])
    assert got["Hub"]["region"] == east.code and east.review and east.label == {"en": "华东", "zh_CN": "华东"}
    gold = site.view.option_lists["customers.level"].option(got["East"]["level"])
    assert gold.code == "gold" and gold.review and gold.live  # kept as an option until an admin merges it
    pie = site.records.aggregate(SYSTEM, "customers", group_by=["region"], locale="en").groups
    assert {g["label"]: g["count"] for g in pie} == {"Shanghai": 2, "华东": 2}

    answer = http_for(site)(people["admin"]).post("/api/v1/meta/option-lists/customers.level/merge", json={"from": "gold", "into": "A"})
    assert answer.status_code == 200 and answer.json()["records"] == {"customers.level": 1}  # the admin's review
    assert site.records.get(SYSTEM, "customers", ids["East"])["level"] == "A"


def test_demo_customers_hold_codes(site, people):
    from ..demo import seed_customers

    seed_customers(site, people["admin"])
    rows = site.records.list(SYSTEM, "customers", limit=50).items
    for row in rows:
        for name in ("level", "industry", "region", "source"):
            listed = site.view.option_lists[f"customers.{name}"]
            assert row[name] is None or listed.option(row[name]) is not None, (row["name"], name, row[name])
