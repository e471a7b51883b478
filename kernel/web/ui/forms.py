"""Form posts back into record data.

:func:`read_form` turns a submitted form into the dict :class:`~kernel.records.Records`
expects; it converts what a browser can only send as text (numbers, check
boxes, local date-times) and leaves every judgement to the one write path, so
a wrong value comes back as a :class:`~kernel.errors.RecordError` whose details
are shown next to their fields. What the fields are comes from
:mod:`kernel.fielddescriptions`.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ... import phones
from ...errors import ValidationError
from ...fielddescriptions import FormField
from ...parsing import parse_datetime, parse_decimal, parse_int

if TYPE_CHECKING:
    from starlette.datastructures import FormData

# -- reading a submitted form ---------------------------------------------------------------


def _number(text: str, kind: str) -> Any:
    try:
        if kind == "integer" or kind == "reference":
            return parse_int(text, [])
        if kind == "money":  # decimal text, never a float (kernel.money)
            return format(parse_decimal(text, []), "f")
        return float(parse_decimal(text, []))
    except ValidationError:
        return text  # the write path explains what is wrong with it


def _local_datetime(text: str, tzinfo: Any, *, as_text: bool) -> Any:
    """A date-time typed in the user's zone (or with its own offset), in UTC; odd text stays text."""
    try:
        moment = parse_datetime(text, [], assume=tzinfo or timezone.utc)
    except ValidationError:
        return text  # the write path explains what is wrong with it
    return moment.isoformat() if as_text else moment


def read_value(form_field: FormField, form: FormData, tzinfo: Any) -> tuple[bool, Any]:
    """``(present, value)`` for one field; ``present`` is False when the form did not carry it."""
    key = form_field.key
    if form_field.widget == "checkbox":
        if f"{key}.present" not in form:
            return False, None
        return True, key in form
    if form_field.widget == "multiselect":
        if f"{key}.present" not in form:
            return False, None
        chosen = [v for v in form.getlist(key) if isinstance(v, str) and v]
        return True, chosen or None
    if form_field.widget == "list" and form_field.reference:  # a multi-picker: one value per chosen record
        if f"{key}.present" not in form and key not in form:
            return False, None
        parts = [p.strip() for v in form.getlist(key) if isinstance(v, str) for p in re.split(r"[,，\n]", v) if p.strip()]
        return True, [_number(p, "integer") for p in dict.fromkeys(parts)]
    if key not in form:
        return False, None
    raw = form.get(key)
    text = raw.strip() if isinstance(raw, str) else ""
    if text == "":
        if form_field.widget in ("text", "textarea") and not form_field.nullable and not form_field.custom:
            return True, ""
        if form_field.widget == "list" and not form_field.nullable:
            return True, []
        return True, None
    if form_field.widget in ("integer", "number", "money", "reference"):
        kind = "integer" if form_field.widget in ("integer", "reference") else form_field.widget
        return True, _number(text, kind)
    if form_field.widget == "datetime":
        return True, _local_datetime(text, tzinfo, as_text=form_field.custom)
    if form_field.widget == "json":
        try:
            return True, json.loads(text)
        except ValueError:
            return True, text  # the write path says what it expected
    if form_field.widget == "list":
        items = [part.strip() for part in re.split(r"[,，\n]", text) if part.strip()]
        return True, [_number(i, "integer") for i in items] if form_field.extra.get("item") == "integer" else items
    return True, raw if form_field.widget == "textarea" else text


def read_form(fields: list[FormField], form: FormData, tzinfo: Any, *, creating: bool) -> dict[str, Any]:
    """Record data for ``Records.create``/``update`` from a submitted form.

    On create an empty optional field is left out (its default applies); on
    update it clears the value.
    """
    data: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    for form_field in fields:
        present, value = read_value(form_field, form, tzinfo)
        if not present or (creating and value is None):
            continue
        if form_field.widget == "password" and not value:
            continue
        (custom if form_field.custom else data)[form_field.name] = value
    if custom or (not creating and any(f.custom for f in fields)):
        data["custom"] = custom
    return data


def errors_by_field(details: list[dict[str, Any]]) -> tuple[dict[str, str], list[str]]:
    """Error details keyed by form field (``title``, ``custom.rating``), and the rest."""
    by_field: dict[str, str] = {}
    other: list[str] = []
    for detail in details:
        loc = [str(part) for part in detail.get("loc", [])]
        if loc and loc[0] == "body":
            loc = loc[1:]
        key = ".".join(loc[:2]) if loc[:1] == ["custom"] else (loc[0] if loc else "")
        if key and key not in by_field:
            by_field[key] = str(detail.get("msg", ""))
        else:
            other.append(str(detail.get("msg", "")))
    return by_field, other


def form_values(record: dict[str, Any] | None, fields: list[FormField], tzinfo: Any, region: str = "CN") -> dict[str, Any]:
    """What each input shows: the record's values, as the input's ``value`` attribute expects
    (a phone number the local way for ``region``: saving it again stores the same E.164)."""
    values: dict[str, Any] = {}
    custom = (record or {}).get("custom") or {}
    for form_field in fields:
        if record is None:
            value = form_field.default
        else:
            value = custom.get(form_field.name) if form_field.custom else record.get(form_field.name)
        if form_field.widget == "datetime" and value:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00")) if isinstance(value, str) else value
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=timezone.utc)
            value = moment.astimezone(tzinfo or timezone.utc).strftime("%Y-%m-%dT%H:%M")
        if form_field.widget == "tel" and isinstance(value, str):
            value = phones.display(value, region)
        if form_field.widget == "list" and isinstance(value, list) and not form_field.reference:
            if form_field.extra.get("item") == "phone":
                value = [phones.display(v, region) for v in value]
            value = ", ".join(map(str, value))
        elif form_field.widget == "json" and value is not None:
            value = json.dumps(value, ensure_ascii=False)
        values[form_field.key] = value
    return values
