"""The password policy, on every way a password is set (API, admin, setup, CLI share the records path)."""

from __future__ import annotations

import pytest

from kernel import Actor
from kernel.demo import generate_password
from kernel.errors import ValidationError
from kernel.passwords import LIKE_EMAIL, ONE_CHARACTER, ONLY_DIGITS, TOO_COMMON, TOO_SHORT, weakness

SYSTEM = Actor.system("cli")


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("12345678", TOO_SHORT),
        ("short-pw", TOO_SHORT),
        ("1234567890", ONLY_DIGITS),
        ("98765432101234", ONLY_DIGITS),
        ("aaaaaaaaaaaa", ONE_CHARACTER),
        ("QwertyUiop", TOO_COMMON),
        ("Password123", TOO_COMMON),
        ("woaini1314", TOO_COMMON),
        ("jane.doe@example.com", LIKE_EMAIL),
        ("Jane.Doe.X", None),
        ("jane.doe.x", None),
        ("correct horse battery", None),
    ],
)
def test_weak_passwords_are_named(password, problem):
    assert weakness(password, "jane.doe@example.com") == problem


def test_the_email_name_part_is_refused_when_long_enough():
    assert weakness("jane.doe.smith", "Jane.Doe.Smith@example.com") == LIKE_EMAIL


def test_generated_passwords_pass():
    assert all(weakness(generate_password(), "admin@example.com") is None for _ in range(20))


def test_the_records_path_refuses_weak_passwords_on_create_and_update(site):
    with pytest.raises(ValidationError) as refused:
        site.records.create(SYSTEM, "users", {"email": "x@example.com", "password": "12345678", "role": "sales_rep"})
    assert refused.value.details == [{"loc": ["password"], "msg": TOO_SHORT}]
    user = site.records.create(SYSTEM, "users", {"email": "x@example.com", "password": "a-good-passphrase", "role": "sales_rep"})
    with pytest.raises(ValidationError) as refused:
        site.records.update(SYSTEM, "users", user["id"], {"password": "x@example.com"})
    assert refused.value.details == [{"loc": ["password"], "msg": LIKE_EMAIL}]
