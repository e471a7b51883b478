import pytest

from plugins.customers import company_key, credit_code_problem, email_key, phone_key
from plugins.customers.creditcode import ALPHABET, check_character


@pytest.mark.parametrize(
    "a, b",
    [
        ("+86 138-0013-8000", "13800138000"),
        ("0086 138 0013 8000", "(138) 0013-8000"),
        ("8613800138000", "138.0013.8000"),
        ("+86 10 6552 1234", "010-6552-1234"),
        ("１３８００１３８０００", "13800138000"),
    ],
)
def test_phones_that_are_the_same_number_have_one_key(a, b):
    assert phone_key(a) == phone_key(b)


def test_different_phones_differ():
    assert phone_key("13800138000") != phone_key("13800138001")
    assert phone_key("") is None and phone_key("--") is None


def test_email_key_ignores_case_and_spaces():
    assert email_key("  Bob@Example.COM ") == email_key("bob@example.com") == "bob@example.com"


@pytest.mark.parametrize(
    "name",
    ["ACME 有限公司", "ACME有限责任公司", "ＡＣＭＥ股份有限公司", "ACME（中国）有限公司", "ACME (中国)", "Acme Co., Ltd.", "ACME Inc.", "acme ltd"],
)
def test_company_names_lose_width_case_spaces_and_legal_suffixes(name):
    assert company_key(name) == "acme"


def test_company_keys_keep_what_tells_companies_apart():
    assert company_key("Costco") == "costco"
    assert company_key("华为技术有限公司") != company_key("华为终端有限公司")
    assert company_key("有限公司") == "有限公司"  # nothing but a suffix: keep it rather than match everything


def test_known_credit_codes_pass():
    assert credit_code_problem("91350100M000100Y43") is None
    assert credit_code_problem("91110000802100433B") is None


def test_credit_code_check_character_is_the_standards():
    # computed by hand from GB 32100-2015: weights 3^i mod 31, check 31 - sum mod 31
    first = "91350100M000100Y4"
    total = sum(ALPHABET.index(c) * pow(3, i, 31) for i, c in enumerate(first))
    assert check_character(first) == ALPHABET[(31 - total % 31) % 31] == "3"


@pytest.mark.parametrize(
    "code, reason",
    [
        ("91350100M000100Y4", "must be 18 characters"),
        ("91350100M000100Y44", "check character"),
        ("91350100M000100I43", "outside the code alphabet: I"),
    ],
)
def test_bad_credit_codes_say_why(code, reason):
    assert reason in credit_code_problem(code)
