"""Custom fields: definitions, validation on the write path, filter and sort, removal."""

import pytest
import sqlalchemy as sa

from kernel import Conflict, NotFound, ValidationError
from kernel import fielddefs
from kernel.customfields import CustomField, FieldSet, check_definition

SCHEMAS = {
    "text": {"type": "string", "maxLength": 10},
    "day": {"type": "string", "format": "date"},
    "moment": {"type": "string", "format": "date-time"},
    "mail": {"type": "string", "format": "email"},
    "site": {"type": "string", "format": "uri"},
    "tel": {"type": "string", "format": "phone"},
    "count": {"type": "integer", "minimum": 0, "maximum": 100},
    "ratio": {"type": "number"},
    "flag": {"type": "boolean"},
    "level": {"type": "string", "enum": ["A", "B", "C"]},
    "tags": {"type": "array", "items": {"type": "string", "enum": ["vip", "new"]}, "uniqueItems": True},
    "budget": {"type": "number", "format": "money", "x-currency": "CNY"},
    "buddy": {"type": "integer", "format": "reference", "x-entity": "users"},
}
GOOD = {
    "text": "hello",
    "day": "2026-11-23",
    "moment": "2026-11-23T09:30:00+08:00",
    "mail": "li.lei@example.cn",
    "site": "https://example.cn/about",
    "tel": "+86 138-0013-8000",
    "count": 7,
    "ratio": 0.5,
    "flag": True,
    "level": "B",
    "tags": ["vip"],
    "budget": 1999.99,
}
BAD = {
    "text": ("much too long text", "is too long"),
    "day": ("2026-13-01", "date"),
    "moment": ("2026-11-23 09:30", "date-time"),
    "mail": ("not-an-email", "email"),
    "site": ("no scheme", "uri"),
    "tel": ("call me", "phone"),
    "count": (101, "100"),
    "ratio": ("0.5", "number"),
    "flag": ("yes", "boolean"),
    "level": ("D", "'D'"),
    "tags": (["vip", "vip"], "unique"),
    "budget": (1.005, "more than 2 decimals"),
    "buddy": (0, "reference"),
}


def test_every_supported_kind_is_accepted():
    kinds = {name: check_definition(name, schema) for name, schema in SCHEMAS.items()}
    assert kinds == {
        "text": "string", "day": "date", "moment": "date-time", "mail": "email", "site": "uri", "tel": "phone",
        "count": "integer", "ratio": "number", "flag": "boolean", "level": "enum", "tags": "multi_enum",
        "budget": "money", "buddy": "reference",
    }


@pytest.mark.parametrize(
    ("name", "schema", "loc", "words"),
    [
        ("Bad-Name", {"type": "string"}, ["name"], "a-z"),
        ("x", "string", ["schema"], "JSON object"),
        ("x", {"type": "object"}, ["schema", "type"], "must be one of"),
        ("x", {"type": "string", "format": "ipv4"}, ["schema", "format"], "ipv4"),
        ("x", {"type": "string", "minLenght": 1}, ["schema"], "allowed:"),
        ("x", {"type": "string", "enum": []}, ["schema", "enum"], "non-empty"),
        ("x", {"type": "integer", "minimum": 5, "maximum": 1}, ["schema", "minimum"], "larger than maximum"),
        ("x", {"type": "integer", "format": "reference"}, ["schema"], "x-entity"),
        ("x", {"type": "number", "format": "money", "x-currency": "rmb"}, ["schema", "x-currency"], "match"),
    ],
)
def test_bad_definitions_name_the_key(name, schema, loc, words):
    with pytest.raises(ValidationError) as caught:
        check_definition(name, schema)
    assert caught.value.details[0]["loc"] == loc
    assert words in caught.value.message


def fieldset():
    return FieldSet("things", [CustomField("things", name, schema) for name, schema in SCHEMAS.items()])


def test_compiled_validator_accepts_and_normalizes():
    values = fieldset().validate({**GOOD, "buddy": 3})
    assert values["moment"] == "2026-11-23T01:30:00.000Z"  # UTC, fixed width: sorts as text
    assert values["budget"] == "1999.99" and values["count"] == 7  # money is stored as decimal text


@pytest.mark.parametrize("name", sorted(BAD))
def test_compiled_validator_refuses_with_field_path(name):
    value, words = BAD[name]
    with pytest.raises(ValidationError) as caught:
        fieldset().validate({name: value})
    detail = caught.value.details[0]
    assert detail["loc"] == ["custom", name]
    assert words.lower() in detail["msg"].lower()
    assert caught.value.message.startswith(f"custom.{name}: ")


def test_booleans_are_not_numbers_and_unknown_keys_are_named():
    with pytest.raises(ValidationError) as caught:
        fieldset().validate({"count": True, "nope": 1})
    locs = [d["loc"] for d in caught.value.details]
    assert ["custom", "count"] in locs and ["custom", "nope"] in locs


def test_field_lifecycle_through_the_write_path(site, admin):
    fielddefs.add_field(site, admin, "notes", "industry", {"type": "string", "enum": ["finance", "retail"]}, label={"en": "Industry", "zh_CN": "行业"})
    fielddefs.add_field(site, admin, "notes", "revenue", {"type": "number", "format": "money"})
    a = site.records.create(admin, "notes", {"title": "A", "custom": {"industry": "finance", "revenue": 300}})
    b = site.records.create(admin, "notes", {"title": "B", "custom": {"industry": "retail", "revenue": 100}})
    c = site.records.create(admin, "notes", {"title": "C", "custom": {"industry": "finance", "revenue": 200.5}})

    with pytest.raises(ValidationError) as caught:
        site.records.create(admin, "notes", {"title": "D", "custom": {"industry": "mining"}})
    assert caught.value.details[0]["loc"] == ["custom", "industry"]
    with pytest.raises(ValidationError) as caught:
        site.records.update(admin, "notes", a["id"], {"custom": {"revenue": "lots"}})
    assert caught.value.details[0]["loc"] == ["custom", "revenue"]
    assert site.records.get(admin, "notes", a["id"])["custom"]["revenue"] == "300.00"

    page = site.records.list(admin, "notes", filters={"industry": "finance"}, sort="-revenue")
    assert [r["id"] for r in page.items] == [a["id"], c["id"]] and page.total == 2
    page = site.records.list(admin, "notes", filters={"revenue__gte": "150", "revenue__lte": "250"})
    assert [r["id"] for r in page.items] == [c["id"]]
    assert [r["id"] for r in site.records.list(admin, "notes", sort="revenue").items] == [b["id"], c["id"], a["id"]]

    fielddefs.remove_field(site, admin, "notes", "industry")
    assert "industry" not in site.view.fields("notes")
    with pytest.raises(ValidationError) as caught:
        site.records.list(admin, "notes", filters={"industry": "finance"})
    assert caught.value.details[0]["loc"] == ["query", "industry"]
    with pytest.raises(ValidationError):
        site.records.create(admin, "notes", {"title": "E", "custom": {"industry": "finance"}})
    assert site.records.get(admin, "notes", a["id"])["custom"]["industry"] == "finance"  # kept until purge

    with pytest.raises(Conflict, match="purge it first"):
        fielddefs.add_field(site, admin, "notes", "industry", {"type": "string"})
    fielddefs.remove_field(site, admin, "notes", "industry", purge=True)
    assert "industry" not in site.records.get(admin, "notes", a["id"])["custom"]
    assert site.records.get(admin, "notes", a["id"])["custom"]["revenue"] == "300.00"
    fielddefs.add_field(site, admin, "notes", "industry", {"type": "string"})
    assert [f["name"] for f in fielddefs.list_fields(site, "notes")] == ["revenue", "industry"]


def test_field_names_may_not_clash_or_repeat(site, admin):
    with pytest.raises(Conflict, match="built-in field 'title'"):
        fielddefs.add_field(site, admin, "notes", "title", {"type": "string"})
    fielddefs.add_field(site, admin, "notes", "color", {"type": "string"})
    with pytest.raises(Conflict, match="already exists"):
        fielddefs.add_field(site, admin, "notes", "color", {"type": "string"})
    with pytest.raises(NotFound):
        fielddefs.add_field(site, admin, "ghosts", "color", {"type": "string"})
    with pytest.raises(ValidationError, match="multi-select"):
        fielddefs.add_field(site, admin, "notes", "tags", SCHEMAS["tags"], indexed=True)


def test_multi_select_filters_by_membership(site, admin):
    fielddefs.add_field(site, admin, "notes", "tags", SCHEMAS["tags"])
    vip = site.records.create(admin, "notes", {"title": "vip", "custom": {"tags": ["vip", "new"]}})
    site.records.create(admin, "notes", {"title": "new", "custom": {"tags": ["new"]}})
    assert [r["id"] for r in site.records.list(admin, "notes", filters={"tags": "vip"}).items] == [vip["id"]]
    assert site.records.list(admin, "notes", filters={"tags": "new"}).total == 2


def test_reference_must_point_to_an_existing_record(site, admin):
    fielddefs.add_field(site, admin, "notes", "buddy", SCHEMAS["buddy"])
    user = site.records.create(admin, "users", {"email": "li@example.cn", "name": "李雷"})
    ok = site.records.create(admin, "notes", {"title": "ok", "custom": {"buddy": user["id"]}})
    assert ok["custom"]["buddy"] == user["id"]
    with pytest.raises(ValidationError) as caught:
        site.records.create(admin, "notes", {"title": "dangling", "custom": {"buddy": 999}})
    assert caught.value.details[0]["loc"] == ["custom", "buddy"]
    assert "no users record with id 999" in caught.value.message


def test_definition_changes_are_versioned_and_audited(site, admin):
    fielddefs.add_field(site, admin, "notes", "score", {"type": "integer"})
    before = site.view.version
    fielddefs.set_label(site, admin, "notes", "score", {"en": "Score", "zh_CN": "评分"})
    fielddefs.set_indexed(site, admin, "notes", "score", True)
    assert site.view.version == before + 2
    listed = fielddefs.list_fields(site, "notes")[0]
    assert listed["version"] == 3 and listed["indexed"] and listed["label"]["zh_CN"] == "评分"
    with site.engine.connect() as conn:
        actions = conn.execute(sa.text("SELECT action FROM kernel_audit WHERE entity = 'custom_fields' ORDER BY id")).scalars().all()
    assert actions == ["create", "update", "update"]


NASTY = "^(a+)+$"  # exponential in a backtracking engine: each extra "a" doubles the work


def test_an_admins_pattern_never_reaches_pythons_backtracking_re(monkeypatch):
    """The error wording used to re-run the value through ``re``; 30 "a" and a "!" took minutes there."""
    import re

    compile_ = re._compile

    def guarded(pattern, flags):
        assert getattr(pattern, "pattern", pattern) != NASTY, "an admin's pattern reached Python's re"
        return compile_(pattern, flags)

    monkeypatch.setattr(re, "_compile", guarded)
    schema = {"type": "string", "pattern": NASTY}
    assert check_definition("code", schema) == "string"
    fields = FieldSet("notes", [CustomField("notes", "code", schema)])
    assert fields.validate({"code": "aaaa"}) == {"code": "aaaa"}
    with pytest.raises(ValidationError) as refused:
        fields.validate({"code": "a" * 30 + "!"})
    assert refused.value.details == [{"loc": ["custom", "code"], "msg": f"'{'a' * 30}!' does not match '{NASTY}'"}]


@pytest.mark.parametrize("pattern", ["^(?=a)a$", "^(a)\\1$", "(?<!x)y"])
def test_a_pattern_the_linear_engine_cannot_run_is_refused_when_defined(pattern):
    """Look-around and back-references used to pass the definition check and then fail every write (500)."""
    with pytest.raises(ValidationError) as refused:
        check_definition("code", {"type": "string", "pattern": pattern})
    assert refused.value.details[0]["loc"] == ["schema", "pattern"]
    assert "look-around and back-references are not supported" in refused.value.details[0]["msg"]


def test_integer_values_fit_64_bits_whatever_the_schema_allows():
    """PostgreSQL reads an integer field as bigint (filters, indexes): a larger value stored in JSON broke every query."""
    fields = FieldSet("notes", [CustomField("notes", "count", {"type": "integer"}), CustomField("notes", "buddy", {"type": "integer", "format": "reference"})])
    assert fields.validate({"count": 2**63 - 1, "buddy": 2**63 - 1}) == {"count": 2**63 - 1, "buddy": 2**63 - 1}
    for name in ("count", "buddy"):
        with pytest.raises(ValidationError) as refused:
            fields.validate({name: 2**63})
        assert refused.value.details[0]["loc"] == ["custom", name]
