"""Refusals in the reader's language: one catalog for the API, the forms and every plugin.

A :class:`~kernel.errors.RecordError` is raised in English, the source language,
and stays English for code that catches it. Where a person reads it (the API's
error envelope, a form page) :func:`localize` rewrites its ``message`` and each
detail's ``msg`` for one locale:

- a detail that knows its error type (``"_type"``: pydantic's ``missing``,
  ``string_too_short``, jsonschema's ``enum``, a money field's ``money``...)
  becomes a sentence of :data:`REASONS` with the field's label:
  ``客户名称 不能为空``, ``邮箱 不是有效的邮箱地址``, ``级别 必须是 A、B、C 之一``;
- any other text is looked up in the catalogs (kernel's and every enabled
  plugin's) as it is, so a plugin refuses in both languages by raising a
  message it also lists in its ``.po`` file (mark it with ``N_`` so extraction
  finds it); a fragment such as ``is not an email address`` gets the label
  in front of it;
- a few parameterized kernel fragments (``must be one of A, B``, ``must be at
  most 40 characters``) are recognised by :data:`PATTERNS`.

Details keep ``loc`` and the error's ``code``; the private ``_type``/``_ctx``
keys never leave the server (:func:`public_details`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .errors import RecordError
from .i18n import pick

if TYPE_CHECKING:
    from .site import View


def N_(message: str) -> str:
    """Mark a string for the catalog without translating it here."""
    return message


#: Error type -> sentence. ``%(field)s`` is the field's label in the reader's language.
REASONS: dict[str, str] = {
    "missing": N_("%(field)s is required"),
    "too_short": N_("%(field)s must be at least %(min)s characters"),
    "too_long": N_("%(field)s must be at most %(max)s characters"),
    "too_few": N_("%(field)s needs at least %(min)s items"),
    "too_many": N_("%(field)s takes at most %(max)s items"),
    "email": N_("%(field)s is not a valid email address"),
    "phone": N_("%(field)s is not a valid phone number"),
    "uri": N_("%(field)s is not a valid web address"),
    "date": N_("%(field)s is not a valid date"),
    "date-time": N_("%(field)s is not a valid date and time"),
    "enum": N_("%(field)s must be one of %(choices)s"),
    "money": N_("%(field)s is not a valid amount"),
    "money_decimals": N_("%(field)s has more decimals than the currency allows"),
    "integer": N_("%(field)s must be a whole number"),
    "number": N_("%(field)s must be a number"),
    "boolean": N_("%(field)s must be yes or no"),
    "text": N_("%(field)s must be text"),
    "list": N_("%(field)s must be a list"),
    "pattern": N_("%(field)s is not in the expected format"),
    "minimum": N_("%(field)s must be at least %(min)s"),
    "negative": N_("%(field)s must not be negative"),
    "maximum": N_("%(field)s must be at most %(max)s"),
    "unknown": N_("%(field)s is not a field of this record"),
    "reference": N_("%(field)s refers to a record that does not exist"),
}

#: Fragments of kernel messages with values in them -> (error type, names of the groups as context).
PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^must be one of (?P<choices>.+)$"), "enum"),
    (re.compile(r"^must be at most (?P<max>\d+) characters?$"), "too_long"),
    (re.compile(r"^must be at least (?P<min>\d+) characters?$"), "too_short"),
    (re.compile(r"^must be at least (?P<min>[\d.]+)$"), "minimum"),
    (re.compile(r"^must not be negative$"), "negative"),
    (re.compile(r"^must be at most (?P<max>[\d.]+)$"), "maximum"),
    (re.compile(r"^has more than \d+ decimals for \w+$|^must be whole \w+$"), "money_decimals"),
    (re.compile(r"^is not a decimal number such as .*|^must be a decimal string such as .*"), "money"),
    (re.compile(r"^no \w+ record with id \d+$"), "reference"),
    (re.compile(r"^is not an? (valid )?email address"), "email"),
    (re.compile(r"^is not an? (valid )?phone number"), "phone"),
    (re.compile(r"^unknown (custom )?field\b.*"), "unknown"),
)

#: Whole messages with values in them -> sentence; ``entity`` is shown by its label.
MESSAGES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^no (?P<entity>\w+) record with id (?P<id>\d+)$"), N_("There is no %(entity)s record with ID %(id)s")),
    (re.compile(r"^no (?P<entity>\w+) record '(?P<id>[^']*)'$"), N_("There is no %(entity)s record with ID %(id)s")),
    (re.compile(r"^no entity named '(?P<entity>[^']*)'$"), N_("There is no kind of record named %(entity)s")),
    (re.compile(r"^no plugin named '(?P<name>[^']*)' is installed$"), N_("No plugin named %(name)s is installed")),
    (re.compile(r"^plugin '(?P<name>[^']*)' requires (?P<others>.+); enable (it|them) first$"),
     N_("Plugin %(name)s needs %(others)s: enable that first")),
    (re.compile(r"^plugin '(?P<name>[^']*)' is part of the kernel and cannot be disabled$"),
     N_("Plugin %(name)s is part of the kernel and cannot be disabled")),
    (re.compile(r"^plugin '(?P<name>[^']*)' is required by (?P<others>.+); disable (it|them) first$"),
     N_("Plugin %(name)s is needed by %(others)s: disable that first")),
)

#: English fragments that read as the end of a sentence whose subject is the field.
_FRAGMENT = re.compile(r"^(is|must|has|does|already|refers|cannot|should|needs|may|takes|only)\b")

_PYDANTIC = {
    "missing": "missing", "extra_forbidden": "unknown",
    "int_type": "integer", "int_parsing": "integer", "int_from_float": "integer",
    "float_type": "number", "float_parsing": "number", "decimal_type": "number", "decimal_parsing": "number",
    "bool_type": "boolean", "bool_parsing": "boolean", "string_type": "text", "list_type": "list",
    "date_type": "date", "date_parsing": "date", "date_from_datetime_parsing": "date", "date_from_datetime_inexact": "date",
    "datetime_type": "date-time", "datetime_parsing": "date-time", "datetime_from_date_parsing": "date-time",
    "literal_error": "enum", "enum": "enum", "string_pattern_mismatch": "pattern",
    "greater_than_equal": "minimum", "greater_than": "minimum", "less_than_equal": "maximum", "less_than": "maximum",
}


def pydantic_reason(error: dict[str, Any]) -> dict[str, Any]:
    """The private ``_type``/``_ctx`` keys for one pydantic error (empty when only its text says why)."""
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "string_too_short":
        return {"_type": "missing"} if ctx.get("min_length") == 1 else {"_type": "too_short", "_ctx": {"min": ctx.get("min_length")}}
    if kind == "string_too_long":
        return {"_type": "too_long", "_ctx": {"max": ctx.get("max_length")}}
    if kind == "too_short":
        return {"_type": "too_few", "_ctx": {"min": ctx.get("min_length")}}
    if kind == "too_long":
        return {"_type": "too_many", "_ctx": {"max": ctx.get("max_length")}}
    if kind in ("greater_than_equal", "greater_than"):
        return {"_type": "minimum", "_ctx": {"min": ctx.get("ge", ctx.get("gt"))}}
    if kind in ("less_than_equal", "less_than"):
        return {"_type": "maximum", "_ctx": {"max": ctx.get("le", ctx.get("lt"))}}
    if kind in _PYDANTIC:
        return {"_type": _PYDANTIC[kind]}
    return {}


def jsonschema_reason(error: Any, kind: str | None) -> dict[str, Any]:
    """The private keys for one jsonschema error on a custom field of ``kind``."""
    validator, value = error.validator, error.validator_value
    if validator == "format" and value in REASONS:
        return {"_type": value}
    if validator == "enum" or (validator == "anyOf" and kind in ("enum", "multi_enum")):
        return {"_type": "enum"}
    if validator == "maxLength":
        return {"_type": "too_long", "_ctx": {"max": value}}
    if validator == "minLength":
        return {"_type": "missing"} if value == 1 else {"_type": "too_short", "_ctx": {"min": value}}
    if validator == "minimum":
        return {"_type": "minimum", "_ctx": {"min": value}}
    if validator == "maximum":
        return {"_type": "maximum", "_ctx": {"max": value}}
    if validator == "pattern":
        return {"_type": "pattern"}
    if validator in ("type", "anyOf") and kind in ("integer", "number", "boolean", "reference", "date", "date-time", "email", "uri", "phone"):
        return {"_type": {"reference": "integer"}.get(kind, kind)}
    return {}


def money_reason(msg: str) -> dict[str, Any]:
    """The private keys for a money field's refusal: its text says which kind (see :data:`PATTERNS`)."""
    return {} if any(pattern.match(msg) for pattern, _ in PATTERNS) else {"_type": "money"}


def public_details(details: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Details as the API sends them: without the private ``_type``/``_ctx`` keys."""
    return [{k: v for k, v in d.items() if not k.startswith("_")} if any(k.startswith("_") for k in d) else d for d in details]


class Labels:
    """Field labels and choices of one entity (or none) in one locale, for :func:`localize`."""

    def __init__(self, view: View | None, entity: str | None, locale: str, gettext: Callable[[str], str]):
        self.view, self.locale, self.gettext = view, locale, gettext
        self.fields: dict[str, Any] = {}
        found = view.entity(entity) if view is not None and entity else None
        if found is not None:
            from .fielddescriptions import form_fields

            self.fields = {f.key: f for f in form_fields(view, found)}  # type: ignore[arg-type]

    def entity_label(self, name: str) -> str:
        found = self.view.entity(name) if self.view is not None else None
        return pick(found.label, self.locale, name) if found is not None else name

    def field(self, loc: list[Any]) -> Any:
        parts = [str(p) for p in loc if not isinstance(p, int) and str(p) not in ("body", "query")]
        key = ".".join(parts[:2]) if parts[:1] == ["custom"] else (parts[0] if parts else "")
        return self.fields.get(key)

    def label(self, loc: list[Any]) -> str:
        found = self.field(loc)
        if found is not None:
            return found.label_text(self.locale, self.gettext)
        parts = [str(p) for p in loc if not isinstance(p, int) and str(p) not in ("body", "query", "custom")]
        name = parts[-1] if parts else ""
        return self.gettext(name.replace("_", " ").capitalize()) if name else ""

    def choices(self, loc: list[Any], fallback: str) -> str:
        joiner = "、" if self.locale == "zh_CN" else ", "
        found = self.field(loc)
        if found is not None and found.choices:
            return joiner.join(found.choice_label(c, self.locale, self.gettext) for c in found.choices)
        items = [part.strip().strip("'\"") for part in re.split(r",\s*|\s+or\s+", fallback) if part.strip()]
        return joiner.join(items) if items else fallback


def sentence(detail: dict[str, Any], labels: Labels) -> str:
    """One detail as a sentence in the reader's language, naming its field."""
    loc, msg = list(detail.get("loc") or []), str(detail.get("msg", ""))
    kind, ctx = detail.get("_type"), dict(detail.get("_ctx") or {})
    if kind is None:
        for pattern, named in PATTERNS:
            matched = pattern.match(msg)
            if matched:
                kind, ctx = named, {**matched.groupdict(), **ctx}
                break
    if kind in REASONS:
        values = {"field": labels.label(loc), "min": "", "max": "", **{k: v for k, v in ctx.items() if v is not None}}
        if kind == "enum":
            values["choices"] = labels.choices(loc, str(ctx.get("choices") or ""))
        return labels.gettext(REASONS[kind]) % values
    if _FRAGMENT.match(msg):
        translated = labels.gettext(msg)
        label = labels.label(loc)
        return f"{label} {translated}" if label else translated
    return whole_message(msg, labels)  # a sentence of its own ("plugin 'x' is required by y; …")


def whole_message(text: str, labels: Labels) -> str:
    """A message that is a sentence of its own, in the reader's language."""
    for pattern, msgid in MESSAGES:
        matched = pattern.match(text)
        if matched:
            values = matched.groupdict()
            if "entity" in values:
                values["entity"] = labels.entity_label(values["entity"])
            return labels.gettext(msgid) % values
    return labels.gettext(text)


def localize(exc: RecordError, labels: Labels) -> RecordError:
    """A copy of ``exc`` with ``message`` and each detail's ``msg`` in ``labels``' locale."""
    details = [{**d, "msg": sentence(d, labels)} if "msg" in d else d for d in exc.details]
    if exc.template is not None and exc.params is not None:
        message = labels.gettext(exc.template) % exc.params
    else:
        message = whole_message(exc.message, labels)
    first = exc.details[0] if exc.details else None
    if first is not None and (message == exc.message or exc.message.endswith(str(first.get("msg")))):
        if _is_about(exc, first):
            message = details[0]["msg"]
    copy = type(exc).__new__(type(exc))
    copy.__dict__.update(exc.__dict__)
    copy.args = (message,)
    copy.message, copy.details = message, details
    return copy


def _is_about(exc: RecordError, detail: dict[str, Any]) -> bool:
    """Whether ``exc.message`` only restates its first detail ("name: is required", or the bare reason)."""
    where = ".".join(str(part) for part in detail.get("loc") or [])
    msg = str(detail.get("msg", ""))
    return exc.message in (msg, f"{where}: {msg}")
