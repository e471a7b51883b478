"""Look-alike customers and contacts: one answer for a whole batch, and only what the caller may read.

A rep of team North creates a customer like one of team South's: the create, the
refusal, the check while typing and the merge page all say that similar records
exist without naming them (issue 10, item 6).
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from kernel import BATCH_ROW, Duplicate, Lookalikes

from .conftest import SYSTEM, customer

PHONE = "13800138000"


@pytest.fixture
def south(site, people):
    """A customer of the other team's rep, with a company name, a phone and an email."""
    return customer(site, people["outsider"], name="杭州茶叶有限公司", phone=PHONE, email="tea@south.example")


def test_a_rep_gets_a_count_but_no_ids_for_another_teams_look_alike(site, people, http, south):
    client = http(people["rep"])
    created = client.post("/api/v1/customers", json={"name": "Hangzhou Tea", "phone": "+86 138 0013 8000"})
    assert created.status_code == 201
    assert created.json()["warnings"] == [{"code": "duplicate", "ids": [], "hidden": 1}]
    own = created.json()["id"]

    again = client.post("/api/v1/customers", params={"on_duplicate": "refuse"}, json={"name": "杭州茶叶有限责任公司"})
    assert again.status_code == 409
    error = again.json()["error"]
    assert error["message"] == "1 similar record exists that you cannot see — ask your manager"
    assert error["details"] == [{"loc": ["body"], "msg": "possible duplicate", "code": "duplicate", "ids": [], "hidden": 1}]
    assert "杭州茶叶" not in again.text and "tea@south" not in again.text and "outsider" not in again.text

    same_phone = client.post("/api/v1/customers", params={"on_duplicate": "refuse"}, json={"name": "Other", "phone": PHONE})
    assert same_phone.status_code == 409
    assert same_phone.json()["error"]["message"] == f"this looks like customers {own}; 1 similar record exists that you cannot see — ask your manager"
    assert same_phone.json()["error"]["details"][0]["ids"] == [own]


def test_the_check_while_typing_names_only_readable_records(site, people, http, south):
    url = "/api/v1/plugins/customers/customers/duplicates"
    assert http(people["rep"]).get(url, params={"phone": PHONE}).json() == {"code": "duplicate", "ids": [], "hidden": 1}
    assert http(people["manager"]).get(url, params={"email": "TEA@south.example"}).json() == {"code": "duplicate", "ids": [], "hidden": 1}
    assert http(people["admin"]).get(url, params={"name": "杭州茶叶"}).json() == {"code": "duplicate", "ids": [south["id"]], "hidden": 0}
    assert http(people["rep"]).get(url, params={"phone": "13900000000"}).json() == {"code": "duplicate", "ids": [], "hidden": 0}


def test_records_answers_in_the_callers_terms(site, people, south):
    mine = customer(site, people["rep"], name="Tea House", phone=PHONE)
    found = site.records.find_duplicates(people["rep"], "customers", [{"name": "Tea", "phone": PHONE}, {"name": "Unrelated"}])
    assert found == [Lookalikes(records=(("customers", mine["id"]),), hidden=1), Lookalikes()]
    assert site.records.find_duplicates(people["admin"], "customers", [{"phone": PHONE}])[0].ids("customers") == sorted([mine["id"], south["id"]])
    with pytest.raises(Duplicate) as caught:
        site.records.create(people["rep"], "customers", {"name": "X", "phone": PHONE}, on_duplicate="refuse")
    assert caught.value.found[0].hidden == 1


def test_a_batch_is_compared_with_itself(site, people):
    rows = [
        {"name": "Alpha Ltd", "phone": "13700000001"},
        {"name": "Beta", "email": "x@beta.example"},
        {"name": "Alpha 有限公司"},  # the same company name as row 0
        {"name": "Gamma", "emails": ["X@BETA.example"], "phone": "137 0000 0001"},  # row 0's phone, row 1's email
    ]
    found = site.records.find_duplicates(people["rep"], "customers", rows)
    assert [f.rows for f in found] == [(), (), (0,), (0, 1)]
    assert not any(f.records or f.hidden for f in found)


def test_the_hook_answers_a_batch_of_200_in_a_bounded_number_of_queries(site, people):
    for start in range(0, 100, 50):
        site.records.create_many(
            SYSTEM, "customers", [{"name": f"Stored {i}", "phone": f"1380000{i:04d}", "owner_id": people["outsider"].user_id} for i in range(start, start + 50)]
        )
    rows = [{"name": f"Candidate {i}", "phone": f"1380000{i:04d}", "email": f"c{i}@example.com"} for i in range(200)]

    def statements_for(batch):
        seen = []

        def count(conn, cursor, statement, parameters, context, executemany):
            seen.append(statement)

        sa.event.listen(site.engine, "before_cursor_execute", count)
        try:
            found = site.records.find_duplicates(people["rep"], "customers", batch)
        finally:
            sa.event.remove(site.engine, "before_cursor_execute", count)
        return found, seen

    def data_queries(statements):  # the view's freshness checks aside (a few, whatever the batch)
        return [s for s in statements if s.lstrip().upper().startswith("SELECT") and "kernel_versions" not in s and "kernel_roles" not in s]

    found, statements = statements_for(rows)
    assert [f.hidden for f in found] == [1] * 100 + [0] * 100 and not any(f.records for f in found)
    assert len(data_queries(statements)) == 2  # the plugin's one lookup, then which look-alikes the rep may read
    assert len(data_queries(statements_for(rows[:2])[1])) == 2  # 200 rows cost what 2 rows cost


def test_contacts_of_customers_the_caller_cannot_see_are_counted_only(site, people, http, south):
    theirs = site.records.create(people["outsider"], "contacts", {"customer_id": south["id"], "name": "王", "phone": PHONE})
    acme = customer(site, people["rep"], name="ACME")
    created = http(people["rep"]).post("/api/v1/contacts", json={"customer_id": acme["id"], "name": "Li", "phone": PHONE})
    assert created.json()["warnings"] == [{"code": "duplicate", "ids": [], "hidden": 1}]
    check = http(people["rep"]).get("/api/v1/plugins/customers/contacts/duplicates", params={"phone": PHONE})
    assert check.json() == {"code": "duplicate", "ids": [created.json()["id"]], "hidden": 1}
    assert str(theirs["id"]) not in str(check.json()["ids"])


def test_the_batch_row_marker_is_not_an_entity_name():
    assert not BATCH_ROW.replace("_", "").isalnum()
