"""Consent per contact, keyed by normalized email address or phone number.

A public form with consent text stores one row of ``kernel_consents`` per address it
collected (email and/or phone), in the same transaction as the record it creates: what the
visitor was shown (``text``, in their language), for which ``purpose`` (``"form:SLUG"``),
when, from which IP, and for which record. Withdrawing sets ``withdrawn_at``; rows are never
deleted, so the history of a contact's consent stays provable. Anything that sends to a
contact asks :func:`has_consent` first.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from .models import Consent

CONSENTS = Consent.__table__
KINDS = ("email", "phone")
_PHONE_NOISE = re.compile(r"[\s\-().·]")


def normal_email(value: Any) -> str | None:
    """``" Ann@Example.COM "`` → ``"ann@example.com"``; ``None`` for what is no address."""
    text = str(value or "").strip().lower()
    return text if "@" in text and len(text) <= 254 else None


def normal_phone(value: Any) -> str | None:
    """Digits with an international prefix kept as ``+``: ``"+86 138-0013-8000"`` → ``"+8613800138000"``,
    ``"0086 13800138000"`` → the same; a mainland mobile number without prefix gets ``+86``."""
    text = _PHONE_NOISE.sub("", str(value or "").strip())
    if text.startswith("00"):
        text = "+" + text[2:]
    digits = text.removeprefix("+")
    if not digits.isdigit() or not 5 <= len(digits) <= 20:
        return None
    if not text.startswith("+") and len(digits) == 11 and digits.startswith("1"):
        return "+86" + digits
    return text


def normal_key(kind: str, value: Any) -> str | None:
    return normal_email(value) if kind == "email" else normal_phone(value)


def give(
    conn: sa.Connection, contacts: dict[str, Any], *, purpose: str, text: str, locale: str, at: datetime,
    ip: str | None = None, entity: str | None = None, record_id: int | None = None,
) -> int:
    """Store consent for each of ``contacts`` (kind → address as typed) that normalizes; returns how many."""
    rows = []
    for kind, value in contacts.items():
        key = normal_key(kind, value)
        if key is not None:
            rows.append({"key": key, "kind": kind, "purpose": purpose[:120], "text": text, "locale": locale,
                         "entity": entity, "record_id": record_id, "given_at": at, "ip": ip})
    if rows:
        conn.execute(sa.insert(CONSENTS), rows)
    return len(rows)


def withdraw(conn: sa.Connection, kind: str, value: Any, at: datetime, purpose: str | None = None) -> int:
    """Withdraw the contact's standing consents (for ``purpose``, or all); returns how many."""
    key = normal_key(kind, value)
    if key is None:
        return 0
    query = sa.update(CONSENTS).where(CONSENTS.c.kind == kind, CONSENTS.c.key == key, CONSENTS.c.withdrawn_at.is_(None))
    if purpose is not None:
        query = query.where(CONSENTS.c.purpose == purpose)
    return conn.execute(query.values(withdrawn_at=at)).rowcount


def has_consent(conn: sa.Connection, kind: str, value: Any, purpose: str | None = None) -> bool:
    """Whether the contact holds a consent not withdrawn (for ``purpose``, or any)."""
    key = normal_key(kind, value)
    if key is None:
        return False
    query = sa.select(CONSENTS.c.id).where(CONSENTS.c.kind == kind, CONSENTS.c.key == key, CONSENTS.c.withdrawn_at.is_(None))
    if purpose is not None:
        query = query.where(CONSENTS.c.purpose == purpose)
    return conn.scalar(query.limit(1)) is not None


def of_contact(conn: sa.Connection, kind: str, value: Any) -> list[dict[str, Any]]:
    """Every consent row of the contact, oldest first."""
    key = normal_key(kind, value)
    if key is None:
        return []
    rows = conn.execute(sa.select(CONSENTS).where(CONSENTS.c.kind == kind, CONSENTS.c.key == key).order_by(CONSENTS.c.id))
    return [dict(row._mapping) for row in rows]
