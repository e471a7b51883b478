"""kernel.phones: the fast reading of Chinese mobiles gives libphonenumber's answer, number for number."""

from __future__ import annotations

import random

import pytest

from kernel import phones


def _shapes(digits: str, rng: random.Random) -> list[str]:
    """``digits`` written the ways people and other CRMs' exports write a mobile number, plus near misses."""
    spaced = f"{digits[:3]} {digits[3:7]} {digits[7:]}"
    dashed = f"{digits[:3]}-{digits[3:7]}-{digits[7:]}"
    scattered = "".join(d + rng.choice(("", "", " ", "-")) for d in digits[:-1]) + digits[-1]
    return [
        digits, spaced, dashed, scattered, "+86" + digits, "+86 " + digits, "+86-" + dashed, "0086" + digits, "0086 " + spaced,
        "86" + digits, "+86 86" + digits, "0" + digits, digits[:-1], digits + "0", " " + digits, digits + " ", "+86  " + digits,
        digits[:3] + "--" + digits[3:], "+8" + digits, "(+86)" + digits, "+86 " + digits[:-1],
    ]


def _numbers(seed: int, per_prefix: int) -> list[str]:
    """Every four-digit prefix 1000–1999 (each mobile, carrier-code and service block of CN's plan) with random endings."""
    rng = random.Random(seed)
    numbers = []
    for prefix in range(1000, 2000):
        for _ in range(per_prefix):
            digits = f"{prefix}{rng.randrange(10**7):07d}"
            numbers.extend(_shapes(digits, rng))
    return numbers


@pytest.mark.parametrize("region", ["CN", "US"])
def test_the_fast_reading_agrees_with_libphonenumber(region):
    read_fast = 0
    for text in _numbers(seed=17, per_prefix=2):
        fast = phones._mobile_cn(text, region)
        slow = phones._library_e164(text, region)
        if fast is not None:
            read_fast += 1
            assert (fast, None) == slow, text
    assert read_fast > 5_000  # the common shapes do take the fast path


def test_every_valid_cn_mobile_in_a_plain_shape_is_read_fast():
    rng = random.Random(86)
    for prefix in range(1000, 2000):
        digits = f"{prefix}{rng.randrange(10**7):07d}"
        for text in (digits, "+86" + digits, "+86 " + f"{digits[:3]} {digits[3:7]} {digits[7:]}"):
            e164, problem = phones._library_e164(text, "CN")
            if problem is None:
                assert phones._mobile_cn(text, "CN") == e164, text


def test_to_e164_answers_and_refusals():
    assert phones.to_e164("138 0013 8000") == "+8613800138000"
    assert phones.to_e164("0086-138-0013-8000", "US") == "+8613800138000"
    assert phones.to_e164("010 8888 1234") == "+861088881234"  # a landline: the library's path
    assert phones.to_e164("+852 2345 6789") == "+85223456789"
    with pytest.raises(ValueError, match="not a valid phone number"):
        phones.to_e164("12345678901")
    with pytest.raises(ValueError, match="not a phone number"):
        phones.to_e164("abc")
