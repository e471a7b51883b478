"""An indexed custom field is a real index that the query builder's filters and sorts use.

Runs on SQLite, and on PostgreSQL when ``CRM_TEST_DATABASE_URL`` is set. The
plans come from EXPLAIN over the very SELECT that ``Records.list`` runs
(``Records.list_query``). PostgreSQL prefers a sequential scan on a table this
small, so its plans are taken with ``enable_seqscan`` off: the question is
whether the index *can* serve the query, which it cannot when the query's
expression differs from the index's.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from kernel import ValidationError
from kernel.fielddefs import add_field, remove_field, set_indexed
from tests.example.plugin import Note

ROWS = 300
NOTES = Note.__table__


def amount_of(i: int) -> float:
    return (i * 7) % 50 * 2.5  # 50 values, each held by 6 notes: ties are broken by id


def closes_on_of(i: int) -> str:
    return (date(2026, 1, 1) + timedelta(days=(i * 11) % 90)).isoformat()


@pytest.fixture
def notes(site, admin) -> dict[int, dict[str, Any]]:
    """300 notes with an indexed number field and an indexed date field; their ``custom`` by id."""
    add_field(site, admin, "notes", "amount", {"type": "number"}, indexed=True)
    add_field(site, admin, "notes", "closes_on", {"type": "string", "format": "date"}, indexed=True)
    customs = [{"amount": amount_of(i), "closes_on": closes_on_of(i)} for i in range(ROWS)]
    ids = site.records.create_many(admin, "notes", [{"title": f"note {i}", "custom": c} for i, c in enumerate(customs)])
    return dict(zip(ids, customs, strict=True))


def query_plan(site, statement: sa.Select[Any]) -> str:
    """The database's plan for ``statement``, bound with the same parameters it runs with."""
    with site.engine.connect() as conn:
        compiled = statement.compile(conn)
        params: Any = compiled.params
        if compiled.positional:
            params = tuple(params[name] for name in compiled.positiontup)
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("ANALYZE notes_notes")
            conn.exec_driver_sql("SET enable_seqscan = off")
            prefix = "EXPLAIN "
        else:
            prefix = "EXPLAIN QUERY PLAN "
        rows = conn.exec_driver_sql(prefix + compiled.string, params).all()
    return "\n".join(str(row[-1]) for row in rows)


def sorts_outside_the_index(plan: str) -> bool:
    return "TEMP B-TREE" in plan or any(line.strip().startswith(("Sort", "->  Sort")) for line in plan.splitlines())


def index_names(site) -> set[str]:
    with site.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            query = "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'notes_notes'"
        else:
            query = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'notes_notes'"
        return set(conn.exec_driver_sql(query).scalars())


def raw_customs(site) -> dict[int, dict[str, Any]]:
    with site.engine.connect() as conn:
        return {row.id: row.custom for row in conn.execute(sa.select(NOTES.c.id, NOTES.c.custom))}


# (filters, sort, the field whose index must serve it, a predicate on ``custom``)
CASES = [
    pytest.param({"amount": "45"}, None, "amount", lambda c: c["amount"] == 45, id="number-equal"),
    pytest.param({"amount__gte": 20, "amount__lte": "60.5"}, "-amount", "amount", lambda c: 20 <= c["amount"] <= 60.5, id="number-range-sort-desc"),
    pytest.param({"amount__gte": 100}, "amount", "amount", lambda c: c["amount"] >= 100, id="number-gte-sort"),
    pytest.param({}, "-amount", "amount", lambda c: True, id="number-sort-only"),
    pytest.param({"closes_on": "2026-02-15"}, None, "closes_on", lambda c: c["closes_on"] == "2026-02-15", id="date-equal"),
    pytest.param(
        {"closes_on__gte": "2026-02-01", "closes_on__lte": "2026-02-28"},
        "closes_on",
        "closes_on",
        lambda c: "2026-02-01" <= c["closes_on"] <= "2026-02-28",
        id="date-range-sort",
    ),
    pytest.param({}, "-closes_on", "closes_on", lambda c: True, id="date-sort-only"),
]


@pytest.mark.parametrize(("filters", "sort", "field", "keep"), CASES)
def test_filter_and_sort_on_an_indexed_field_use_its_index(site, admin, notes, filters, sort, field, keep):
    plan = query_plan(site, site.records.list_query(admin, "notes", filters=filters, sort=sort))

    assert f"cfx_notes_notes_{field}" in plan, plan
    if sort and not filters:
        assert not sorts_outside_the_index(plan), plan


@pytest.mark.parametrize(("filters", "sort", "field", "keep"), CASES)
def test_filter_and_sort_on_an_indexed_field_return_the_right_rows_in_order(site, admin, notes, filters, sort, field, keep):
    descending = bool(sort) and sort.startswith("-")
    order_key = (lambda i: (notes[i][field], i)) if sort else (lambda i: i)
    expected = sorted((i for i, c in notes.items() if keep(c)), key=order_key, reverse=descending)

    first = site.records.list(admin, "notes", filters=filters, sort=sort, limit=10)
    everything = site.records.list(admin, "notes", filters=filters, sort=sort, limit=500)

    assert expected, "the case should match some notes"
    assert [r["id"] for r in first.items] == expected[:10]
    assert first.total == len(expected)
    assert [r["id"] for r in everything.items] == expected
    assert all(r["custom"] == notes[r["id"]] for r in everything.items)


def test_a_field_marked_indexed_later_gets_its_index_and_loses_it_when_unmarked(site, admin, notes):
    add_field(site, admin, "notes", "score", {"type": "integer"})
    site.records.create_many(admin, "notes", [{"title": f"scored {i}", "custom": {"score": i % 10}} for i in range(50)])
    statement = site.records.list_query(admin, "notes", filters={"score__gte": 8}, sort="-score")
    assert "cfx_notes_notes_score" not in index_names(site)

    set_indexed(site, admin, "notes", "score", True)

    assert "cfx_notes_notes_score" in index_names(site)
    assert "cfx_notes_notes_score" in query_plan(site, statement)
    page = site.records.list(admin, "notes", filters={"score__gte": 8}, sort="-score", limit=500)
    assert [r["custom"]["score"] for r in page.items] == [9] * 5 + [8] * 5

    set_indexed(site, admin, "notes", "score", False)

    assert "cfx_notes_notes_score" not in index_names(site)
    assert "cfx_notes_notes_score" not in query_plan(site, statement)


def test_removing_a_field_drops_its_index_and_keeps_its_values_until_purged(site, admin, notes):
    assert {"cfx_notes_notes_amount", "cfx_notes_notes_closes_on"} <= index_names(site)

    remove_field(site, admin, "notes", "amount")

    assert "cfx_notes_notes_amount" not in index_names(site)
    assert "cfx_notes_notes_closes_on" in index_names(site)
    assert site.records.list(admin, "notes", limit=500).total == ROWS
    with pytest.raises(ValidationError) as refused:
        site.records.list(admin, "notes", filters={"amount": 45})
    assert refused.value.details[0]["loc"] == ["query", "amount"]
    assert {i: c["amount"] for i, c in raw_customs(site).items()} == {i: c["amount"] for i, c in notes.items()}

    remove_field(site, admin, "notes", "amount", purge=True)

    assert raw_customs(site) == {i: {"closes_on": c["closes_on"]} for i, c in notes.items()}


def test_a_batch_hands_back_ids_in_input_order_with_one_audit_entry_each(site, admin, notes):
    ids = list(notes)

    assert ids == sorted(ids) and len(set(ids)) == ROWS
    for position in (0, 137, ROWS - 1):
        (entry,) = site.records.history(admin, "notes", ids[position])
        assert entry["action"] == "create"
        assert entry["changes"]["title"] == [None, f"note {position}"]
        assert entry["changes"]["custom.amount"] == [None, amount_of(position)]
