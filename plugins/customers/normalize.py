"""Normalized keys for duplicate detection: phones, emails and company names; phones as stored.

Two values that a person would call "the same" get the same key:
``+86 138-0013-8000`` and ``13800138000`` (both ``+8613800138000``, the E.164 form);
``ACME 有限公司`` and ``ACME有限责任公司``; `` Bob@Example.COM `` and ``bob@example.com``.

:func:`store_phones` turns the ``phone`` and ``phones`` a caller sent into E.164 (the write
path stores nothing else), refusing what is no phone number with the field named.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from kernel import ValidationError, phone_e164

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


def phone_key(phone: str | None, region: str = "CN") -> str | None:
    """The number's E.164 form (``+8613800138000``) read in ``region``; a value that is no valid
    number (stored before numbers were checked) falls back to its digits without the Chinese country code."""
    if not phone:
        return None
    text = unicodedata.normalize("NFKC", phone)
    e164 = phone_e164(text, region)
    if e164 is not None:
        return e164
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
    return _company_key(name) if type(name) is str else _company_key.__wrapped__(name)


@functools.lru_cache(maxsize=4096)
def _company_key(name: str) -> str | None:
    """:func:`company_key`, remembered: a new customer's name is keyed twice (the duplicate check before
    an import's batch, then the stored key in ``before_create``)."""
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


def phone_keys(values: Iterable[str | None], region: str = "CN") -> list[str]:
    """The distinct keys of several phone numbers, in order."""
    keys: list[str] = []
    for value in values:  # a plain loop: a row's one or two numbers, keyed twice per imported row
        if value:
            key = phone_key(value, region)
            if key and key not in keys:
                keys.append(key)
    return keys


def store_phones(values: dict[str, Any], region: str) -> None:
    """``phone`` and each of ``phones`` in ``values`` (those sent) as E.164, in place; a
    :class:`ValidationError` names the first one that is no valid number."""
    from kernel import phone_to_e164

    if values.get("phone"):
        try:
            values["phone"] = phone_to_e164(unicodedata.normalize("NFKC", values["phone"]), region)
        except ValueError as exc:
            raise ValidationError.at(["phone"], str(exc)) from None
    if values.get("phones"):
        stored = []
        for index, text in enumerate(values["phones"]):
            if not text:
                continue
            try:
                stored.append(phone_to_e164(unicodedata.normalize("NFKC", text), region))
            except ValueError as exc:
                raise ValidationError.at(["phones", index], str(exc)) from None
        values["phones"] = list(dict.fromkeys(stored))


def email_keys(values: Iterable[str | None]) -> list[str]:
    """The distinct keys of several emails, in order."""
    keys: list[str] = []
    for value in values:
        if value:
            key = email_key(value)
            if key and key not in keys:
                keys.append(key)
    return keys
