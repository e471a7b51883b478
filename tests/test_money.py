"""Money: kernel.money's arithmetic, money custom fields as decimal strings, the Money column
and the 0012 migration; on SQLite, and on PostgreSQL when ``CRM_TEST_DATABASE_URL`` is set."""

from __future__ import annotations

import inspect
from decimal import Decimal

import pytest
import sqlalchemy as sa
from alembic import command

import kernel
from kernel import Actor, Money, ValidationError, migrations
from kernel.fielddefs import add_field
from kernel import money
from kernel.money import add, format_money, money_text, multiply, parse_money, quantize, subtract, sum_by_currency
from tests.example import plugin as notes_plugin
from tests.example.plugin import Note
from tests.test_customfield_index import query_plan

SYSTEM = Actor.system("cli")
NOTES = Note.__table__


# -- kernel.money ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "currency", "expected"),
    [("12345.67", "CNY", "12345.67"), ("12.5", "CNY", "12.50"), (12.5, "USD", "12.50"), (7, "EUR", "7.00"),
     (Decimal("3.10"), "GBP", "3.10"), ("1000", "JPY", "1000"), ("-0.5", "HKD", "-0.50"), ("2.000", "KRW", "2")],
)
def test_parse_accepts_exact_amounts_and_keeps_the_minor_digits(value, currency, expected):
    assert money_text(parse_money(value, currency), currency) == expected


@pytest.mark.parametrize(
    ("value", "currency", "words"),
    [(0.1 + 0.2, "CNY", "more than 2 decimals"), ("12.345", "USD", "more than 2 decimals"), ("12.5", "JPY", "whole JPY"),
     ("1e3", "CNY", "decimal number"), ("NaN", "CNY", "decimal number"), ("12,5", "CNY", "decimal number"),
     (True, "CNY", "decimal string"), ("1" * 19, "CNY", "too large"), ("1.00", "RMB", "unknown currency")],
)
def test_parse_refuses_noise_extra_digits_and_unknown_currencies(value, currency, words):
    with pytest.raises(ValueError, match=words):
        parse_money(value, currency)


def _answer(parse, value, currency):
    try:
        amount = parse(value, currency)
    except ValueError as exc:
        return "refused", str(exc)
    return str(amount), amount.as_tuple()


def test_the_short_way_for_plain_amounts_answers_as_every_check_does():
    """parse_money takes plain digit strings without its checks (an import's every amount): the same
    amount, digits and sign, or the same refusal, as the checks give, over shapes near the short way's edges."""
    shapes = ["0", "-0", "7", "-7", "12.5", "12.50", "12.500", "12.505", "-0.50", ".5", "5.", "+5", "0012.30",
              "9" * 18, "9" * 18 + ".99", "9" * 19, "-" + "9" * 18, "1" + "0" * 18, "0" * 20 + "1", "1.000", "1.001",
              "1e3", " 12.5", "12.5 ", "１２", "12,5", "--1", "-", "", "NaN", "12.5\n", "٣"]
    shapes += [f"{i}.{j:0{k}d}" for i in (0, 1, 99, 123456789) for k in (1, 2, 3) for j in (0, 5, 10 ** k - 1)]
    for value in shapes:
        for currency in ("CNY", "JPY", "KRW", "USD"):
            digits = money.minor_digits(currency)
            assert _answer(parse_money, value, currency) == _answer(lambda v, c: money._checked(v, c, digits), value, currency), (value, currency)
    assert money._SIMPLE[2].fullmatch("12345.50") and not money._SIMPLE[0].fullmatch("1.5")  # the short way is taken


def test_rounding_is_half_up_to_the_minor_unit():
    assert quantize(Decimal("2.675"), "CNY") == Decimal("2.68")  # a float 2.675 is 2.67499999…: Decimal input
    assert quantize(Decimal("-2.675"), "CNY") == Decimal("-2.68")
    assert quantize(Decimal("2.665"), "USD") == Decimal("2.67")  # not banker's rounding (2.66)
    assert quantize(Decimal("1234.5"), "JPY") == Decimal("1235")
    assert multiply(Decimal("19.99"), 3, "CNY") == Decimal("59.97")
    assert multiply(Decimal("10.05"), "0.5", "CNY") == Decimal("5.03")  # 5.025 rounded once, at the end
    assert add(Decimal("0.10"), Decimal("0.20"), "CNY") == Decimal("0.30")
    assert subtract(Decimal("1"), Decimal("0.01"), "USD") == Decimal("0.99")
    with pytest.raises(TypeError):
        multiply(Decimal("1.00"), 0.13, "CNY")


def test_sums_never_mix_currencies():
    totals = sum_by_currency([("10.10", "CNY"), ("5", "USD"), ("0.90", "CNY"), (Decimal("100"), "JPY")])
    assert totals == {"CNY": Decimal("11.00"), "USD": Decimal("5.00"), "JPY": Decimal("100")}
    assert sum_by_currency([]) == {}


def test_display_follows_the_locale():
    assert format_money("1234.5", "CNY", "zh_CN") == "¥1,234.50"
    assert format_money("1234.5", "USD", "en") == "$1,234.50"
    assert format_money("1234", "JPY", "en") == "¥1,234"
    assert "1,234.50" in format_money("1234.5", "EUR", "en")


def test_every_public_name_has_a_docstring():
    missing = [n for n in kernel.__all__ if callable(getattr(kernel, n)) and not inspect.getdoc(getattr(kernel, n))]
    assert missing == []


# -- money custom fields ------------------------------------------------------------


def stored(site, id_: int) -> dict:
    with site.engine.connect() as conn:
        return conn.execute(sa.select(NOTES.c.custom).where(NOTES.c.id == id_)).scalar_one()


def test_money_field_round_trips_as_a_decimal_string(site, admin):
    add_field(site, admin, "notes", "budget", {"type": "number", "format": "money"})
    assert site.view.fields("notes")["budget"].currency == "CNY"  # the site's default_currency, written into the definition
    note = site.records.create(admin, "notes", {"title": "A", "custom": {"budget": "12345.67"}})
    assert note["custom"]["budget"] == "12345.67"
    assert stored(site, note["id"])["budget"] == "12345.67"  # a JSON string, never a float
    site.records.update(admin, "notes", note["id"], {"custom": {"budget": 12.5}})  # an exact JSON number is taken
    assert site.records.get(admin, "notes", note["id"])["custom"]["budget"] == "12.50"
    big = site.records.create(admin, "notes", {"title": "B", "custom": {"budget": "98765432109876543.21"}})
    assert site.records.get(admin, "notes", big["id"])["custom"]["budget"] == "98765432109876543.21"  # past a float's digits


@pytest.mark.parametrize("value", [0.1 + 0.2, "12.345", "ten", True, [1]])
def test_money_field_refuses_noise_with_the_field_named(site, admin, value):
    add_field(site, admin, "notes", "budget", {"type": "number", "format": "money"})
    with pytest.raises(ValidationError) as caught:
        site.records.create(admin, "notes", {"title": "A", "custom": {"budget": value}})
    assert caught.value.details[0]["loc"] == ["custom", "budget"]
    assert caught.value.message.startswith("custom.budget: ")


def test_money_field_currency_bounds_and_site_default(make_site):
    site = make_site(notes_plugin, default_currency="JPY")
    add_field(site, SYSTEM, "notes", "price", {"type": "number", "format": "money", "minimum": 0})
    add_field(site, SYSTEM, "notes", "fee", {"type": "number", "format": "money", "x-currency": "USD"})
    assert site.view.fields("notes")["price"].schema["x-currency"] == "JPY"
    note = site.records.create(SYSTEM, "notes", {"title": "A", "custom": {"price": "1500", "fee": "2.5"}})
    assert note["custom"] == {"price": "1500", "fee": "2.50"}
    for custom, words in (({"price": "1500.5"}, "whole JPY"), ({"price": "-1"}, "must not be negative")):
        with pytest.raises(ValidationError, match=words):
            site.records.create(SYSTEM, "notes", {"title": "B", "custom": custom})
    with pytest.raises(ValidationError) as caught:
        add_field(site, SYSTEM, "notes", "odd", {"type": "number", "format": "money", "x-currency": "ABC"})
    assert caught.value.details[0]["loc"] == ["schema", "x-currency"]


@pytest.mark.parametrize("indexed", [False, True])
def test_money_filters_and_sorts_compare_numbers_not_text(site, admin, indexed):
    add_field(site, admin, "notes", "budget", {"type": "number", "format": "money"}, indexed=indexed)
    values = ["99.50", "100.00", "5.25", "1000.00", "99.49"]
    ids = site.records.create_many(admin, "notes", [{"title": v, "custom": {"budget": v}} for v in values])
    by_value = dict(zip(values, ids, strict=True))
    ordered = [by_value[v] for v in ("5.25", "99.49", "99.50", "100.00", "1000.00")]
    assert [r["id"] for r in site.records.list(admin, "notes", sort="budget").items] == ordered
    assert [r["id"] for r in site.records.list(admin, "notes", sort="-budget").items] == ordered[::-1]
    page = site.records.list(admin, "notes", filters={"budget__gt": "99.50"}, sort="budget")
    assert [r["id"] for r in page.items] == [by_value["100.00"], by_value["1000.00"]]
    assert [r["id"] for r in site.records.list(admin, "notes", filters={"budget": "99.5"}).items] == [by_value["99.50"]]
    if indexed:
        plan = query_plan(site, site.records.list_query(admin, "notes", filters={"budget__gte": "99.50"}, sort="budget"))
        assert "cfx_notes_notes_budget" in plan, plan


def test_migration_turns_stored_floats_into_decimal_strings(make_site):
    site = make_site(notes_plugin, migrate=False)
    with site.write() as conn:
        command.upgrade(migrations.alembic_config(site, conn), "core@583133bd1cc9")  # before the money revision
    with site.write() as conn:
        command.upgrade(migrations.alembic_config(site, conn), "notes@head")
    add_field(site, SYSTEM, "notes", "budget", {"type": "number", "format": "money"})
    add_field(site, SYSTEM, "notes", "yen", {"type": "number", "format": "money", "x-currency": "JPY"})
    add_field(site, SYSTEM, "notes", "ratio", {"type": "number"})
    ids = site.records.create_many(SYSTEM, "notes", [{"title": "a"}, {"title": "b"}, {"title": "c"}])
    old = [{"budget": 1999.9, "yen": 12.5, "ratio": 0.5}, {"budget": 300, "ratio": 1.25}, {"ratio": 2.0}]
    with site.write() as conn:  # as the code before 0012 stored them: JSON numbers
        for id_, custom in zip(ids, old, strict=True):
            conn.execute(sa.update(NOTES).where(NOTES.c.id == id_).values(custom=custom))
        kernel_defs = sa.table("kernel_custom_fields", sa.column("name"), sa.column("schema", kernel.JSONData))
        conn.execute(sa.update(kernel_defs).where(kernel_defs.c.name == "budget").values(schema={"type": "number", "format": "money"}))

    migrations.upgrade(site)

    assert stored(site, ids[0]) == {"budget": "1999.90", "yen": "12.5", "ratio": 0.5}  # the odd yen kept exactly
    assert stored(site, ids[1]) == {"budget": "300.00", "ratio": 1.25}
    assert stored(site, ids[2]) == {"ratio": 2.0}
    assert site.view.fields("notes")["budget"].schema["x-currency"] == "CNY"
    assert [r["id"] for r in site.records.list(SYSTEM, "notes", filters={"budget__gte": "1000"}).items] == [ids[0]]


# -- the Money column ----------------------------------------------------------------


def test_money_column_keeps_every_digit_and_sums_exactly(site):
    metadata = sa.MetaData()
    table = sa.Table("money_probe", metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("amount", Money()), sa.Column("yen", Money(0)))
    metadata.create_all(site.engine)
    amounts = [Decimal("9999999999999999.99"), Decimal("0.10"), Decimal("0.20"), Decimal("-0.01")]
    with site.engine.begin() as conn:
        conn.execute(sa.insert(table), [{"amount": a, "yen": 1000} for a in amounts])
        assert conn.execute(sa.select(table.c.amount).order_by(table.c.id)).scalars().all() == amounts
        assert conn.scalar(sa.select(sa.func.sum(table.c.amount)).where(table.c.id > 1)) == Decimal("0.29")
        assert conn.scalar(sa.select(table.c.yen).limit(1)) == Decimal("1000")
        assert conn.scalar(sa.select(sa.func.count()).where(table.c.amount > Decimal("0.15"))) == 2  # numeric, not text
        for bad in (0.1, Decimal("0.001")):
            with pytest.raises(sa.exc.StatementError):
                conn.execute(sa.insert(table).values(amount=bad))
    metadata.drop_all(site.engine)


def test_audit_and_history_keep_amounts_as_decimal_text():
    assert kernel.jsonable({"total": Decimal("1234.50"), "yen": Decimal("1E+3")}) == {"total": "1234.50", "yen": "1000"}
