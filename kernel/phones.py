"""Phone numbers: parsed, checked and stored as E.164 (``+8613800138000``), shown the local way.

Parsing and formatting are Google's libphonenumber rules (the ``phonenumbers`` package):
a number typed without a country code is read in the site's region (``phone_region`` in
the site settings, default ``CN``), one with ``+`` or ``00`` in its own; ``+852``, ``+1``
and ``+44`` numbers keep theirs. A number is shown in the national format of the site's
region (``138 0013 8000``, ``010 8888 1234``) and in the international format otherwise
(``+852 2345 6789``).

:func:`to_e164` is for the write path (a :class:`ValueError` explains a refusal);
:func:`display` for pages; :func:`e164_or_none` for data already stored (migrations,
dedupe keys), which leaves what it cannot read alone.

The commonest number by far is a Chinese mobile (``13800138000``, ``+86 138-0013-8000``): it is read
without ``phonenumbers.parse`` (about 0.1 ms a number, the largest cost of a large import) when
libphonenumber's own CN metadata says what parse would find (:func:`_mobile_cn`); every other
shape goes through the library. ``tests/test_phones.py`` compares both answers over many numbers.
"""

from __future__ import annotations

import functools

import re
from typing import TYPE_CHECKING, Any

import phonenumbers

if TYPE_CHECKING:
    from .site import Site

DEFAULT_REGION = "CN"
#: A region code the site setting may name: two capital letters libphonenumber knows.
REGIONS = frozenset(phonenumbers.SUPPORTED_REGIONS)
_INTERNATIONAL_00 = re.compile(r"^\s*00(?=[1-9])")


def region_of(site: Site | None) -> str:
    """The site's default phone region (``phone_region`` setting), else :data:`DEFAULT_REGION`."""
    settings = getattr(site, "settings", None)
    region = getattr(settings, "phone_region", None)
    return region if region in REGIONS else DEFAULT_REGION


def _cn_mobile_reader() -> Any:
    """A reader of ``[+86 | 0086] 1xx xxxx xxxx`` (one space or dash allowed between digits) that gives
    the E.164 form of a number libphonenumber would parse and accept as it is, else None.

    It holds for 11 digits that match CN's general and mobile patterns and that neither CN's
    international prefix (``00``, ``1[12]xx00``, ``179xx00``) nor its national prefix for parsing
    (``0``, carrier codes ``1[12]xx``, ``179xx``) would strip: parse then keeps them whole as the
    national number, validity is the mobile pattern, and E.164 is ``+86`` and the digits. The
    patterns are the installed library's, so an update of its metadata moves both paths alike."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region("CN")
    general = re.compile(metadata.general_desc.national_number_pattern)
    mobile = re.compile(metadata.mobile.national_number_pattern)
    stripped = re.compile(f"(?:{metadata.international_prefix})|(?:{metadata.national_prefix_for_parsing})")
    shape = re.compile(r"(?:(?:\+|00)86[ -]?)?(1(?:[ -]?\d){10})")

    def read(text: str, region: str) -> str | None:
        found = shape.fullmatch(text)
        if found is None or (region != "CN" and found.start(1) == 0):  # bare digits: only CN's own
            return None
        digits = found.group(1).replace(" ", "").replace("-", "")
        if stripped.match(digits) or not general.fullmatch(digits) or not mobile.fullmatch(digits):
            return None
        return "+86" + digits

    return read


_mobile_cn = _cn_mobile_reader()


def _parse(text: str, region: str) -> phonenumbers.PhoneNumber:
    cleaned = _INTERNATIONAL_00.sub("+", text)  # 00852… dialled from abroad is +852…
    return phonenumbers.parse(cleaned, region)


def to_e164(text: str, region: str = DEFAULT_REGION) -> str:
    """``text`` as E.164; :class:`ValueError` with a sentence a person can act on when it is no phone number."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("is empty")
    if len(text) > 40:
        raise ValueError("is too long for a phone number (at most 40 characters)")
    if text in _MADE:  # a number this process wrote as E.164 a moment ago, read again (a write's dedupe keys)
        return text
    number, problem = _e164(text, region)
    if problem is not None:
        raise ValueError(problem)
    if len(_MADE) >= _MADE_SIZE:
        _MADE.clear()
    _MADE[number] = None
    return number


#: E.164 texts :func:`to_e164` gave lately: the E.164 form of a valid number is itself, read in any
#: region, so reading it again needs no parse (an import parses each number once, not twice).
_MADE: dict[str, None] = {}
_MADE_SIZE = 16_384


@functools.lru_cache(maxsize=16_384)
def _e164(text: str, region: str) -> tuple[str, str | None]:
    """``(E.164, None)`` or ``("", why not)``: remembered, since a write reads the same number several
    times (its dedupe keys, the stored phones, the duplicate check before an import's batch)."""
    fast = _mobile_cn(text, region)
    return (fast, None) if fast is not None else _library_e164(text, region)


def _library_e164(text: str, region: str) -> tuple[str, str | None]:
    """:func:`_e164` by libphonenumber alone (what :func:`_mobile_cn` must agree with)."""
    try:
        number = _parse(text, region)
    except phonenumbers.NumberParseException:
        return "", "is not a phone number"
    if not phonenumbers.is_valid_number(number):
        return "", f"is not a valid phone number (read in region {region}; add +country code for a foreign number)"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), None


def e164_or_none(text: Any, region: str = DEFAULT_REGION) -> str | None:
    """``text`` as E.164, or None when it cannot be read as a valid number."""
    try:
        return to_e164(text, region)
    except ValueError:
        return None


def display(value: Any, region: str = DEFAULT_REGION) -> str:
    """A stored number for a person: national format in ``region``, international otherwise;
    what cannot be read is shown as stored."""
    if not isinstance(value, str) or not value:
        return "" if value is None else str(value)
    try:
        number = _parse(value, region)
    except phonenumbers.NumberParseException:
        return value
    if not phonenumbers.is_valid_number(number):
        return value
    local = phonenumbers.region_code_for_number(number) == region
    style = phonenumbers.PhoneNumberFormat.NATIONAL if local else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    return phonenumbers.format_number(number, style)
