"""Phone numbers stored as E.164, shown the local way, foreign ones kept; the migration that rewrites old ones."""

from __future__ import annotations

import logging
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from kernel import Actor, ValidationError
from kernel.testing import upgrade_to
from plugins.customers.models import Contact, Customer

SYSTEM = Actor.system("cli")


@pytest.mark.parametrize(
    "typed, stored",
    [
        ("138 0013 8000", "+8613800138000"),
        ("010-6552-1234", "+861065521234"),
        ("+852 2345 6789", "+85223456789"),
        ("00852 2345 6789", "+85223456789"),
        ("+1 (415) 555-2671", "+14155552671"),
        ("+44 20 7946 0958", "+442079460958"),
    ],
)
def test_phones_are_stored_as_e164(site, typed, stored):
    customer = site.records.create(SYSTEM, "customers", {"name": "ACME", "phone": typed, "phones": [typed]})
    assert customer["phone"] == stored and customer["phones"] == [stored]
    contact = site.records.create(SYSTEM, "contacts", {"customer_id": customer["id"], "name": "Li", "phone": typed})
    assert contact["phone"] == stored


@pytest.mark.parametrize("bad", ["12345", "555-0100", "+44 12"])
def test_a_number_that_is_no_phone_number_is_refused_naming_the_field(site, bad):
    with pytest.raises(ValidationError) as caught:
        site.records.create(SYSTEM, "customers", {"name": "ACME", "phone": bad})
    assert caught.value.details[0]["loc"] == ["phone"]
    assert "phone number" in caught.value.details[0]["msg"]
    with pytest.raises(ValidationError) as caught:
        site.records.create(SYSTEM, "customers", {"name": "ACME", "phones": ["13800138000", bad]})
    assert caught.value.details[0]["loc"] == ["phones", 1]


def test_the_default_region_comes_from_the_site_settings(make_site):
    site = make_site(plugins=("customers",), phone_region="HK")
    customer = site.records.create(SYSTEM, "customers", {"name": "Kowloon Tea", "phone": "2345 6789"})
    assert customer["phone"] == "+85223456789"
    china = site.records.create(SYSTEM, "customers", {"name": "Beijing Tea", "phone": "+86 138 0013 8000"})
    assert china["phone"] == "+8613800138000"


def test_dedupe_keys_come_from_the_e164_form(site):
    first = site.records.create(SYSTEM, "customers", {"name": "Alpha", "phone": "+852 2345 6789"})
    [found] = site.records.find_duplicates(SYSTEM, "customers", [{"name": "Beta", "phone": "00852-23456789"}])
    assert found.ids("customers") == [first["id"]]
    [other] = site.records.find_duplicates(SYSTEM, "customers", [{"name": "Gamma", "phone": "+852 2345 6780"}])
    assert other.ids("customers") == []


@pytest.mark.parametrize(
    "phone, phones",
    [("138 0013 8000", ["+86 138-0013-8000", "010-6552-1234"]), ("+852 2345 6789", []), (None, ["00852 2345 6789", "+1 (415) 555-2671"]), ("13800138000", ["138 0013 8000"])],
)
def test_a_new_customers_keys_come_from_its_stored_phones_without_reading_them_again(site, monkeypatch, phone, phones):
    """prepare_create keys the phones store_phones just made E.164 as they are: the keys the general
    way (each number read by phone_key) gives, and no number read a third time."""
    from plugins.customers import customer_rules, normalize

    read, original = [], normalize.phone_e164
    monkeypatch.setattr(normalize, "phone_e164", lambda text, region: read.append(text) or original(text, region))
    customer = site.records.create(SYSTEM, "customers", {"name": "ACME", "phone": phone, "phones": phones})
    assert read == []
    monkeypatch.undo()
    with site.engine.connect() as conn:
        stored = conn.execute(sa.select(Customer.__table__.c.phone_key).where(Customer.__table__.c.id == customer["id"])).scalar_one()
    assert stored == customer_rules.dedupe_keys(customer)["phone_key"] is not None


def test_the_migration_rewrites_readable_numbers_and_lists_the_rest(make_site, caplog):
    site = make_site(plugins=("customers",), migrate=False)
    upgrade_to(site, "core@head", "139474bfd05f")
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    base = {"created_at": now, "updated_at": now, "custom": {}, "kind": "company", "status": "potential", "churn_flag": False,
            "shared_user_ids": [], "shared_team_ids": [], "tags": [], "emails": []}
    with site.write() as conn:
        conn.execute(sa.insert(Customer.__table__), [
            {**base, "id": 1, "name": "Old", "phone": "138-0013-8000", "phones": ["+852 2345 6789"], "phone_key": "13800138000"},
            {**base, "id": 2, "name": "Odd", "phone": "ext. 12", "phones": ["555-0100"], "phone_key": "12"},
        ])
        conn.execute(sa.insert(Contact.__table__), [{"id": 1, "customer_id": 1, "name": "Li", "phone": "0086 10 6552 1234", "phones": [],
                                                      "emails": [], "is_primary": True, "created_at": now, "updated_at": now, "custom": {}}])
    with caplog.at_level(logging.WARNING, logger="alembic.runtime.migration"):
        upgrade_to(site)
    with site.engine.connect() as conn:
        customers = {r.id: r for r in conn.execute(sa.select(Customer.__table__))}
        contact = conn.execute(sa.select(Contact.__table__)).one()
    assert (customers[1].phone, customers[1].phones, customers[1].phone_key) == ("+8613800138000", ["+85223456789"], "+8613800138000")
    assert (customers[2].phone, customers[2].phones) == ("ext. 12", ["555-0100"])
    assert (contact.phone, contact.phone_key) == ("+861065521234", "+861065521234")
    assert "customers_customers 2" in caplog.text and "'555-0100'" in caplog.text
    assert "customers_customers 1" not in caplog.text
