"""Consent per contact (kernel.consents): normalized keys, given and withdrawn."""

from __future__ import annotations

from datetime import timedelta

from kernel import consents
from tests.example import plugin as notes_plugin


def test_emails_and_phones_are_normalized():
    assert consents.normal_email(" Ann@Example.COM ") == "ann@example.com"
    assert consents.normal_email("no address") is None
    assert consents.normal_phone("+86 138-0013-8000") == "+8613800138000"
    assert consents.normal_phone("0086 13800138000") == "+8613800138000"
    assert consents.normal_phone("138 0013 8000") == "+8613800138000"
    assert consents.normal_phone("(021) 6234-5678") == "02162345678"
    assert consents.normal_phone("call me") is None


def test_consent_is_found_by_any_spelling_and_withdrawn(make_site, clock):
    site = make_site(notes_plugin)
    with site.write() as conn:
        stored = consents.give(conn, {"email": "Ann@Example.com", "phone": "138-0013-8000"}, purpose="form:contact",
                               text="You may email me.", locale="en", at=clock.now(), ip="192.0.2.1")
    assert stored == 2
    with site.engine.connect() as conn:
        assert consents.has_consent(conn, "email", "ann@example.COM")
        assert consents.has_consent(conn, "phone", "+86 13800138000", purpose="form:contact")
        assert not consents.has_consent(conn, "phone", "+86 13800138000", purpose="form:other")
    with site.write() as conn:
        assert consents.withdraw(conn, "email", "ANN@example.com", clock.now() + timedelta(days=1)) == 1
    with site.engine.connect() as conn:
        assert not consents.has_consent(conn, "email", "ann@example.com")
        [row] = consents.of_contact(conn, "email", "ann@example.com")
        assert row["withdrawn_at"] == clock.now() + timedelta(days=1) and row["text"] == "You may email me."
