"""Field masking (:mod:`kernel.masking`): a masked phone cannot be learned through any read path.

The test plugin (tests/masktest.py) owns ``masktest_people`` (phone, score, a custom ``wechat``) and their
``masktest_contacts`` (children through ``person_id``); it masks a person's phone, score and
wechat, and the phones of their contacts, from everyone but the owner while the person is
``locked`` — the way the sea masks an unclaimed customer's details from sea members.
"""

from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa

from kernel import Action, Actor, Forbidden, Mask, PluginError
from kernel.activity import record_activity
from kernel.exporting import export_records
from kernel.fielddefs import add_field
from kernel.testing import plugin_module
from kernel.versions import EditConflict

from tests.masktest import PHONE, SYSTEM, entities, locked_for, masked_site



@pytest.fixture
def site(make_site):
    return masked_site(make_site)


def member(site, email: str) -> Actor:
    user = site.records.create(SYSTEM, "users", {"email": email, "name": email.split("@")[0], "role": "member", "password": "s3cret-pass"})
    return Actor(user_id=user["id"], label=email, role="member")


@pytest.fixture
def people(site):
    """ann owns a locked person (its phone masked for bob) and an open one; bob owns nothing."""
    ann, bob = member(site, "ann@example.com"), member(site, "bob@example.com")
    locked = site.records.create(ann, "masktest_people", {
        "name": "Locked Li", "phone": PHONE, "score": 90, "region": "east", "locked": True, "custom": {"wechat": "li_wx"},
    })
    open_ = site.records.create(ann, "masktest_people", {"name": "Open Wang", "phone": "13900000000", "score": 10, "region": "east"})
    contact = site.records.create(SYSTEM, "masktest_contacts", {"person_id": locked["id"], "name": "Li's assistant", "phone": "13711112222"})
    return ann, bob, locked, open_, contact


# -- declaring -----------------------------------------------------------------------------


def test_a_mask_on_an_unknown_entity_or_field_stops_the_site(make_site):
    bad = plugin_module("badmask", register_entities=entities, register_masks=lambda: [Mask("nothing_here", ("phone",), when=locked_for)])
    with pytest.raises(PluginError, match="no such entity"):
        make_site(bad).view
    worse = plugin_module("badmask2", register_entities=entities, register_masks=lambda: [Mask("masktest_people", ("owner_id",), when=locked_for)])
    with pytest.raises(PluginError, match="cannot be masked"):
        make_site(worse).view


def test_an_entity_without_masks_reads_with_the_same_sql(site, people):
    ann, bob, *_ = people
    plain = str(site.records.list_query(Actor(user_id=bob.user_id, label="b", role="admin"), "users", filters={"name": "x"}, sort="name"))
    assert "CASE" not in plain and "_mask_" not in plain
    masked = str(site.records.list_query(bob, "masktest_people", sort="phone"))
    assert "CASE" in masked and "_mask_0" in masked


# -- get, list -----------------------------------------------------------------------------


def test_get_shows_the_phone_to_its_owner_and_hides_it_from_others(site, people):
    ann, bob, locked, open_, _ = people
    seen = site.records.get(bob, "masktest_people", locked["id"])
    assert seen["phone"] is None and seen["score"] is None and seen["custom"]["wechat"] is None
    assert seen["_masked"] == ["phone", "score", "wechat"] and seen["name"] == "Locked Li"
    assert site.records.get(ann, "masktest_people", locked["id"])["phone"] == PHONE
    assert "_masked" not in site.records.get(bob, "masktest_people", open_["id"])
    assert site.records.get(SYSTEM, "masktest_people", locked["id"])["phone"] == PHONE  # system actors see all
    assert site.records.get(bob.elevated("merge"), "masktest_people", locked["id"])["phone"] == PHONE


def test_get_reads_the_record_and_what_is_masked_of_it_in_one_statement(site, people):
    ann, bob, locked, open_, _ = people
    site.records.get(bob, "masktest_people", open_["id"])  # the role's rights, read once
    statements: list[str] = []
    sa.event.listen(site.engine, "before_cursor_execute", lambda conn, cursor, statement, *rest: statements.append(statement))
    seen = site.records.get(bob, "masktest_people", locked["id"])
    [read] = [s for s in statements if "masktest_people" in s]  # (besides the site's registry version check)
    assert "_mask_0" in read
    assert seen["phone"] is None and seen["_masked"] == ["phone", "score", "wechat"] and "_mask_0" not in seen


def test_an_action_reads_the_masks_only_to_check_an_if_match(make_site):
    touch = Action("touch", {"en": "Touch", "zh_CN": "触碰"}, lambda site, conn, actor, entity, record, body: {"id": record["id"]})
    site = masked_site(make_site, plugin_module("masktouch", requires=["masktest"], register_entity_actions=lambda: {"masktest_people": [touch]}))
    ann = member(site, "ann@example.com")
    boss = Actor(user_id=member(site, "boss@example.com").user_id, label="boss@example.com", role="admin")  # masked: not the owner
    locked = site.records.create(ann, "masktest_people", {"name": "Locked Li", "phone": PHONE, "locked": True})
    statements: list[str] = []
    sa.event.listen(site.engine, "before_cursor_execute", lambda conn, cursor, statement, *rest: statements.append(statement))
    assert site.records.act(boss, "masktest_people", locked["id"], "touch", None) == {"id": locked["id"]}
    assert statements and not [s for s in statements if "_mask_" in s]
    with pytest.raises(EditConflict) as stale:
        site.records.act(boss, "masktest_people", locked["id"], "touch", None, if_match='"0000"')
    assert stale.value.record["phone"] is None  # the version checked and answered is the masked one


def test_list_hides_the_phone_in_every_row_it_masks(site, people):
    ann, bob, locked, open_, _ = people
    for kwargs in ({}, {"q": "li"}, {"sort": "name"}):
        items = {r["id"]: r for r in site.records.list(bob, "masktest_people", **kwargs).items}
        assert items[locked["id"]]["phone"] is None and items[locked["id"]]["_masked"] == ["phone", "score", "wechat"], kwargs
        assert PHONE not in repr(items)
    assert {r["id"]: r["phone"] for r in site.records.list(ann, "masktest_people").items}[locked["id"]] == PHONE


# -- search, filters, sort -----------------------------------------------------------------


def test_q_does_not_match_a_masked_record_by_its_masked_value(site, people):
    ann, bob, locked, open_, _ = people
    for q in (PHONE, "138001", "138-0013-8000", "li_wx", "13"):
        assert locked["id"] not in [r["id"] for r in site.records.list(bob, "masktest_people", q=q).items], q
    assert [r["id"] for r in site.records.list(ann, "masktest_people", q=PHONE).items] == [locked["id"]]
    assert [r["id"] for r in site.records.list(ann, "masktest_people", q="li_wx").items] == [locked["id"]]
    assert [r["id"] for r in site.records.list(bob, "masktest_people", q="locked li").items] == [locked["id"]]  # shown fields still match
    assert [r["id"] for r in site.records.list(bob, "masktest_people", q="13900000000").items] == [open_["id"]]


def test_search_ranking_does_not_rise_on_a_masked_value(site, people):
    ann, bob, *_ = people
    add_field(site, SYSTEM, "masktest_people", "nickname", {"type": "string"})  # searched, never masked
    wang = site.records.create(ann, "masktest_people", {"name": "Wang", "custom": {"nickname": "x555"}})
    zhang = site.records.create(ann, "masktest_people", {"name": "Zhang", "phone": "5550001", "locked": True, "custom": {"nickname": "x555"}})
    assert [r["id"] for r in site.records.list(ann, "masktest_people", q="555").items] == [zhang["id"], wang["id"]]  # a value starts with it
    assert [r["id"] for r in site.records.list(bob, "masktest_people", q="555").items] == [wang["id"], zhang["id"]]


def test_a_filter_on_a_masked_field_never_matches_a_masked_record(site, people):
    ann, bob, locked, open_, _ = people
    for filters in ({"phone": PHONE}, {"phone__gte": "1"}, {"phone__lt": "9"}, {"phone": "null"}, {"score__gte": 50}, {"wechat": "li_wx"}, {"wechat": "null"}):
        page = site.records.list(bob, "masktest_people", filters=filters)
        assert locked["id"] not in [r["id"] for r in page.items], filters
    assert [r["id"] for r in site.records.list(ann, "masktest_people", filters={"phone": PHONE}).items] == [locked["id"]]
    assert [r["id"] for r in site.records.list(bob, "masktest_people", filters={"region": "east"}).items] == [locked["id"], open_["id"]]


def test_sorting_by_a_masked_field_puts_masked_records_with_the_nulls(site, people):
    ann, bob, locked, open_, _ = people
    low = site.records.create(ann, "masktest_people", {"name": "Low Zhao", "phone": "10000000000", "score": 1})
    blank = site.records.create(ann, "masktest_people", {"name": "Blank", "phone": None})
    for key in ("phone", "-phone", "score", "-score"):
        order = [r["id"] for r in site.records.list(bob, "masktest_people", sort=key).items]
        truth = [r["id"] for r in site.records.list(ann, "masktest_people", sort=key).items]
        unmasked = [i for i in order if i != locked["id"]]
        assert unmasked == [i for i in truth if i != locked["id"]], key
        # the masked record sits right beside the real NULL, wherever NULLs sort on this database
        assert abs(order.index(locked["id"]) - order.index(blank["id"])) == 1, (key, order)
    assert low["id"]


# -- export --------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_hides_the_masked_values(site, people, fmt):
    ann, bob, locked, *_ = people
    readable = b"".join(export_records(site, bob, "masktest_people", fmt).chunks())  # labels, names: for people
    if fmt == "csv":
        assert PHONE not in readable.decode("utf-8-sig") and "li_wx" not in readable.decode("utf-8-sig")
    data = b"".join(export_records(site, bob, "masktest_people", fmt, raw=True).chunks())  # field names, codes
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
        row = next(r for r in rows if r["id"] == str(locked["id"]))
        assert row["phone"] == "" and row["score"] == "" and row.get("custom.wechat", "") == ""
        assert PHONE not in data.decode("utf-8-sig") and "li_wx" not in data.decode("utf-8-sig")
    else:
        import openpyxl

        sheet = openpyxl.load_workbook(io.BytesIO(data)).active
        values = [str(c.value) for row in sheet.iter_rows() for c in row if c.value is not None]
        assert PHONE not in values and "li_wx" not in values and "Locked Li" in values
    mine = b"".join(export_records(site, ann, "masktest_people", "csv").chunks()).decode("utf-8-sig")
    assert PHONE in mine and "li_wx" in mine
    filtered = b"".join(export_records(site, bob, "masktest_people", "csv", filters={"phone": PHONE}).chunks()).decode("utf-8-sig")
    assert "Locked Li" not in filtered


# -- history, activity ---------------------------------------------------------------------


def test_history_and_activity_show_masked_changes_masked(site, people):
    ann, bob, locked, *_ = people
    site.records.update(ann, "masktest_people", locked["id"], {"phone": "13800000001", "name": "Locked Li Renamed"})
    history = site.records.history(bob, "masktest_people", locked["id"])
    assert PHONE not in repr(history) and "13800000001" not in repr(history) and "li_wx" not in repr(history)
    update = history[0]
    assert update["changes"]["phone"] == [None, None] and update["changes"]["_masked"] == ["phone"]
    assert update["changes"]["name"] == ["Locked Li", "Locked Li Renamed"]
    assert history[1]["changes"]["custom.wechat"] == [None, None]
    assert site.records.history(ann, "masktest_people", locked["id"])[0]["changes"]["phone"] == [PHONE, "13800000001"]
    timeline = record_activity(site, bob, "masktest_people", locked["id"])
    assert PHONE not in repr(timeline) and "13800000001" not in repr(timeline)
    assert timeline["items"][0]["data"]["changes"]["_masked"] == ["phone"]


# -- duplicates ----------------------------------------------------------------------------


def test_a_duplicate_warning_counts_a_masked_lookalike_without_naming_it(site, people):
    ann, bob, locked, open_, _ = people
    made = site.records.create(bob, "masktest_people", {"name": "Typed", "phone": PHONE}, on_duplicate="warn")
    assert made["warnings"] == [{"code": "duplicate", "ids": [], "hidden": 1}]
    named = site.records.create(bob, "masktest_people", {"name": "Typed 2", "phone": "13900000000"}, on_duplicate="warn")
    assert named["warnings"][0]["ids"] == [open_["id"]]
    assert site.records.find_duplicates(ann, "masktest_people", [{"phone": PHONE}])[0].ids("masktest_people") == [locked["id"], made["id"]]


# -- aggregates ----------------------------------------------------------------------------


def test_aggregates_put_masked_records_in_one_bucket_and_out_of_measures(site, people):
    ann, bob, locked, open_, _ = people
    site.records.create(ann, "masktest_people", {"name": "Other locked", "phone": "13811111111", "score": 7, "locked": True})
    groups = site.records.aggregate(bob, "masktest_people", group_by=["phone"], measures=["count"]).groups
    hidden = [g for g in groups if g.get("masked")]
    assert len(hidden) == 1 and hidden[0]["count"] == 2 and hidden[0]["key"] is None and hidden[0]["label"] == "Hidden"
    assert PHONE not in repr(groups)
    total = site.records.aggregate(bob, "masktest_people", measures=["count", "sum:score", "max:score", "min:score", "avg:score"]).groups[0]
    assert total["count"] == 3 and total["sum:score"] == 10 and total["max:score"] == 10 and total["min:score"] == 10
    assert site.records.aggregate(ann, "masktest_people", measures=["max:score"]).groups[0]["max:score"] == 90
    by_wechat = site.records.aggregate(bob, "masktest_people", group_by=["wechat"]).groups
    assert "li_wx" not in repr(by_wechat)
    by_region = site.records.aggregate(bob, "masktest_people", group_by=["region"], measures=["sum:score"]).groups
    assert {g["key"]: g["sum:score"] for g in by_region}["east"] == 10


# -- children through the parent -----------------------------------------------------------


def test_a_child_masked_through_its_parent_is_masked_on_every_read(site, people):
    ann, bob, locked, open_, contact = people
    other = site.records.create(SYSTEM, "masktest_contacts", {"person_id": open_["id"], "name": "Wang's", "phone": "13655556666"})
    assert site.records.get(bob, "masktest_contacts", contact["id"])["phone"] is None
    listed = {r["id"]: r for r in site.records.list(bob, "masktest_contacts", filters={"person_id": locked["id"]}).items}
    assert listed[contact["id"]]["phone"] is None and listed[contact["id"]]["_masked"] == ["phone"]
    assert site.records.get(bob, "masktest_contacts", other["id"])["phone"] == "13655556666"
    assert site.records.list(bob, "masktest_contacts", q="13711112222").total == 0
    assert site.records.list(bob, "masktest_contacts", filters={"phone": "13711112222"}).total == 0
    assert site.records.get(ann, "masktest_contacts", contact["id"])["phone"] == "13711112222"


# -- writes --------------------------------------------------------------------------------


def test_a_masked_actor_may_not_write_a_masked_field_and_gets_the_record_masked(site, people):
    ann, bob, locked, open_, _ = people
    role = site.records.list(SYSTEM, "roles", filters={"name": "member"}).items[0]
    site.records.update(SYSTEM, "roles", role["id"], {"permissions": [*role["permissions"], "masktest_people.update"]})
    for change in ({"phone": "1"}, {"phone": None}, {"custom": {"wechat": "x"}}, {"score": 1}):
        with pytest.raises(Forbidden) as refused:
            site.records.update(bob, "masktest_people", locked["id"], change)
        assert "masked" in refused.value.message, change
    with pytest.raises(Forbidden) as refused:
        site.records.update(bob, "masktest_people", locked["id"], {"custom": {"wechat": "x"}})
    assert refused.value.details[0]["loc"] == ["custom", "wechat"]
    assert site.records.get(SYSTEM, "masktest_people", locked["id"])["phone"] == PHONE


def test_a_masked_record_cannot_be_deleted_into_the_deleters_recycle_bin(site, people):
    ann, bob, locked, open_, _ = people
    role = site.records.list(SYSTEM, "roles", filters={"name": "member"}).items[0]
    site.records.update(SYSTEM, "roles", role["id"], {"permissions": [*role["permissions"], "masktest_people.delete", "masktest_people.assign"]})
    with pytest.raises(Forbidden, match="masked for you"):
        site.records.delete(bob, "masktest_people", locked["id"])
    with pytest.raises(Forbidden, match="masked for you"):
        site.records.delete_many(bob, "masktest_people", where={"region": "east"})
    assert site.records.get(SYSTEM, "masktest_people", locked["id"])["phone"] == PHONE


def test_access_explains_which_masks_apply(site, people):
    ann, bob, locked, open_, _ = people
    from kernel.masking import explain

    entity = site.view.entity("masktest_people")
    assert explain(site, bob, entity, locked["id"]) == [
        {"plugin": "masktest", "fields": ["phone", "score", "wechat"], "masked": True, "reason": "locked person", "through": None, "detail": None}
    ]
    assert explain(site, ann, entity, locked["id"])[0]["masked"] is False
    assert explain(site, bob, entity, open_["id"])[0]["masked"] is False
    assert explain(site, bob, site.view.entity("users"), 1) == []


def test_batch_writes_neither_overwrite_nor_select_by_a_masked_field(site, people):
    ann, bob, locked, open_, _ = people
    with pytest.raises(Forbidden) as refused:
        site.records.update_many(bob, "masktest_people", ids=[open_["id"], locked["id"]], changes={"phone": "1"})
    assert refused.value.details[0]["loc"] == ["phone"]
    with pytest.raises(Forbidden):
        site.records.update_many(bob, "masktest_people", where={"region": "east"}, changes={"custom": {"wechat": "x"}})
    assert site.records.update_many(bob, "masktest_people", where={"phone": PHONE}, changes={"region": "west"}) == []
    assert site.records.update_many(bob, "masktest_people", ids=[open_["id"]], changes={"phone": "13900000001"}) == [open_["id"]]
    assert site.records.get(SYSTEM, "masktest_people", locked["id"])["phone"] == PHONE
