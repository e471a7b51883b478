"""The unified social credit code (统一社会信用代码), GB 32100-2015.

18 characters from a 31-character alphabet; the last is a check character:
with ``C_i`` the value of the i-th character (1-based) and ``W_i = 3^(i-1) mod 31``,
the check value is ``31 - (sum(C_i * W_i) mod 31)``, where 31 means 0.
"""

from __future__ import annotations

from kernel import N_

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
LENGTH = 18
WEIGHTS = tuple(pow(3, i, 31) for i in range(LENGTH - 1))


def check_character(first17: str) -> str:
    """The check character for the first 17 characters of a code."""
    total = sum(ALPHABET.index(char) * weight for char, weight in zip(first17, WEIGHTS, strict=True))
    value = 31 - total % 31
    return ALPHABET[0 if value == 31 else value]


def credit_code_problem(code: str) -> str | None:
    """Why ``code`` is not a valid unified social credit code, or ``None`` when it is."""
    if len(code) != LENGTH:
        return f"must be {LENGTH} characters, not {len(code)}"
    wrong = sorted({char for char in code if char not in ALPHABET})
    if wrong:
        return f"contains characters outside the code alphabet: {''.join(wrong)}"
    if check_character(code[:-1]) != code[-1]:
        return N_("check character does not match (GB 32100-2015)")
    return None
