"""Normalized keys for duplicate detection: phones, emails and company names.

Two values that a person would call "the same" get the same key:
``+86 138-0013-8000`` and ``13800138000``; ``ACME 有限公司`` and ``ACME有限责任公司``;
`` Bob@Example.COM `` and ``bob@example.com``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

_PHONE_NOISE = re.compile(r"[\s\-().\u00a0/]")
_COUNTRY_PREFIX = re.compile(r"^(?:\+86|0086)")
_MOBILE = re.compile(r"^1\d{10}$")
_NAME_NOISE = re.compile(r"[\s\-_.,·•'\"&()]")
_COMPANY_SUFFIXES = (
    # after NFKC, full-width brackets are ASCII ones
    re.compile(r"(股份有限公司|有限责任公司|有限公司|集团公司|公司)$"),
    re.compile(r"\(中国\)$"),
    re.compile(r"(?:^|[\s,.])(co\.?\s*,?\s*ltd\.?|company\s+limited|limited|ltd\.?|inc\.?|incorporated|llc|corp\.?|corporation|gmbh)$"),
)


def phone_key(phone: str | None) -> str | None:
    """Digits only, without the Chinese country code; a landline dialled as ``+86 10 …`` gets its trunk ``0`` back."""
    if not phone:
        return None
    text = unicodedata.normalize("NFKC", phone)
    text = _PHONE_NOISE.sub("", text)
    international = bool(_COUNTRY_PREFIX.match(text))
    text = _COUNTRY_PREFIX.sub("", text)
    if not international and len(text) == 13 and text.startswith("861"):
        text, international = text[2:], True
    digits = re.sub(r"\D", "", text)
    if not digits:
        return None
    if international and not _MOBILE.match(digits) and not digits.startswith("0"):
        digits = "0" + digits
    return digits


def email_key(email: str | None) -> str | None:
    if not email:
        return None
    key = unicodedata.normalize("NFKC", email).strip().lower()
    return key or None


def company_key(name: str | None) -> str | None:
    """The name without width, case, spaces, punctuation and legal-form suffixes."""
    if not name:
        return None
    text = unicodedata.normalize("NFKC", name).casefold().strip()
    changed = True
    while changed:
        changed = False
        text = text.rstrip(" ,.;")
        for suffix in _COMPANY_SUFFIXES:
            shorter = suffix.sub("", text)
            if shorter != text and shorter.strip():
                text, changed = shorter, True
    key = _NAME_NOISE.sub("", text)
    return key or None


def phone_keys(values: Iterable[str | None]) -> list[str]:
    """The distinct keys of several phone numbers, in order."""
    return _distinct(phone_key(v) for v in values)


def email_keys(values: Iterable[str | None]) -> list[str]:
    return _distinct(email_key(v) for v in values)


def _distinct(keys: Iterable[str | None]) -> list[str]:
    return list(dict.fromkeys(k for k in keys if k))
