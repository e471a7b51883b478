"""Form fields from entity metadata, and form posts back into record data.

Built-in fields come from the entity's pydantic model, custom fields from their
JSON Schema; each becomes a :class:`FormField` that says which widget to draw.
:func:`read_form` turns a submitted form into the dict :class:`~kernel.records.Records`
expects; it converts what a browser can only send as text (numbers, check
boxes, local date-times) and leaves every judgement to the one write path, so
a wrong value comes back as a :class:`~kernel.errors.RecordError` whose details
are shown next to their fields.
"""

from __future__ import annotations

import json
import re
import types
import typing
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from ...errors import ValidationError
from ...parsing import parse_datetime, parse_decimal, parse_int
from .i18n import pick

if TYPE_CHECKING:
    from starlette.datastructures import FormData

    from ...entities import Entity
    from ...site import View

def N_(message: str) -> str:
    """Mark a string for the catalog without translating it here."""
    return message


#: Labels of the kernel's own fields (users, teams, roles), humanized from their names.
KERNEL_FIELD_LABELS = (
    N_("Email"), N_("Name"), N_("Role"), N_("Team"), N_("Active"), N_("Password"),
    N_("Label"), N_("Permissions"), N_("Parent"), N_("Manager"), N_("Owner"),
)

_ALTERNATION = re.compile(r"^\^?\(([\w|\-]+)\)\$?$")
LONG_TEXT = 500  # a str field longer than this (or unbounded, named like prose) gets a textarea
PROSE = ("body", "content", "description", "notes", "comment", "remark")
WIDGETS = {
    "string": "text", "email": "email", "uri": "url", "phone": "tel", "date": "date", "date-time": "datetime",
    "integer": "integer", "number": "number", "money": "money", "boolean": "checkbox",
    "enum": "select", "multi_enum": "multiselect", "reference": "reference",
}


@dataclass(frozen=True)
class FormField:
    """One input. ``key`` is ``name`` for a built-in field and ``custom.name`` for a custom one."""

    name: str
    label: Any  # a {"en", "zh_CN"} dict, or text to translate
    widget: str  # text, textarea, email, url, tel, date, datetime, integer, number, money, checkbox, select, multiselect, reference, list
    custom: bool = False
    required: bool = False
    choices: tuple[str, ...] = ()
    reference: str | None = None  # the referenced entity
    minimum: Any = None
    maximum: Any = None
    max_length: int | None = None
    nullable: bool = True
    default: Any = None  # what a new record's input starts with
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"custom.{self.name}" if self.custom else self.name

    @property
    def input_id(self) -> str:
        return "f-" + self.key.replace(".", "-")

    def choice_label(self, value: Any, locale: str, gettext: Any = None) -> str:
        """An option's label: from the schema's ``x-labels``, else the value (translated by the catalogs)."""
        labels = self.extra.get("labels", {}).get(value)
        if labels:
            return pick(labels, locale, str(value))
        return str(gettext(str(value))) if gettext is not None else str(value)

    def label_text(self, locale: str, gettext: Any) -> str:
        if isinstance(self.label, dict):
            return pick(self.label, locale, self.name)
        return str(gettext(self.label))


def humanize(name: str) -> str:
    """``due_at`` → ``Due at``; the kernel and plugin catalogs translate these."""
    return name.removesuffix("_id").replace("_", " ").capitalize()


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """The annotation without ``| None``, and whether ``None`` was allowed."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return (args[0] if len(args) == 1 else str), len(args) < len(typing.get_args(annotation))
    return annotation, False


def _metadata(info: Any) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for item in info.metadata:
        for attr in ("ge", "le", "gt", "lt", "max_length", "pattern"):
            value = getattr(item, attr, None)
            if value is not None:
                found[attr] = value
    return found


def reference_target(view: View, entity: Entity, name: str, extra: dict[str, Any]) -> str | None:
    """The entity a built-in ``*_id`` field points at: declared (``x-entity``), the owner, or by name."""
    if extra.get("x-entity"):
        return str(extra["x-entity"])
    if name == entity.owner_field:
        return "users"
    if name.endswith("_id"):
        stem = name.removesuffix("_id")
        for candidate in (stem + "s", stem + "es", stem.removesuffix("y") + "ies", stem):
            if candidate in view.entities:
                return candidate
    return None


def builtin_field(view: View, entity: Entity, name: str, info: Any) -> FormField:
    annotation, nullable = _unwrap(info.annotation)
    meta = _metadata(info)
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    label = extra.get("x-label") or info.title or humanize(name)
    required = info.is_required()
    default = None if required or info.default_factory is not None else info.default
    common = {"label": label, "required": required, "nullable": nullable, "default": default}
    choices: tuple[str, ...] = ()
    if typing.get_origin(annotation) is Literal:
        choices = tuple(str(a) for a in typing.get_args(annotation))
    elif isinstance(meta.get("pattern"), str) and _ALTERNATION.match(meta["pattern"]):
        choices = tuple(_ALTERNATION.match(meta["pattern"]).group(1).split("|"))  # type: ignore[union-attr]
    labels = {"labels": extra["x-labels"]} if isinstance(extra.get("x-labels"), dict) else {}
    if choices:
        return FormField(name, widget="select", choices=choices, extra=labels, **common)
    if typing.get_origin(annotation) is list:
        item = (typing.get_args(annotation) or (str,))[0]
        target = reference_target(view, entity, name, extra) if item is int else None
        return FormField(name, widget="list", reference=target, extra={"item": "integer" if item is int else "string"}, **common)
    if annotation is bool:
        return FormField(name, widget="checkbox", **common)
    if annotation is int:
        target = reference_target(view, entity, name, extra)
        if target:
            return FormField(name, widget="reference", reference=target, **common)
        return FormField(name, widget="integer", minimum=meta.get("ge"), maximum=meta.get("le"), **common)
    if annotation in (float, Decimal):
        return FormField(name, widget="number", minimum=meta.get("ge"), maximum=meta.get("le"), **common)
    if annotation is datetime:
        return FormField(name, widget="datetime", **common)
    if annotation is date:
        return FormField(name, widget="date", **common)
    if annotation is str:
        limit = meta.get("max_length")
        long_text = (limit or 10**6) > LONG_TEXT and name in PROSE
        if name == "password":
            return FormField(name, widget="password", max_length=limit, **common)
        if name == "email":
            return FormField(name, widget="email", max_length=limit, **common)
        named = view.entities.get(name + "s")
        if named is not None and "name" in named.columns and name != entity.name:
            return FormField(name, widget="select", extra={"choices_from": named.name}, **common)
        return FormField(name, widget="textarea" if long_text else "text", max_length=limit, **common)
    return FormField(name, widget="json", **common)


def custom_field(field_: Any) -> FormField:
    schema = field_.schema
    choices = tuple(schema.get("enum") or schema.get("items", {}).get("enum") or ())
    return FormField(
        field_.name,
        label=field_.label or humanize(field_.name),
        widget=WIDGETS.get(field_.kind, "text"),
        custom=True,
        choices=choices,
        reference=schema.get("x-entity"),
        minimum=schema.get("minimum"),
        maximum=schema.get("maximum"),
        max_length=schema.get("maxLength"),
        extra={"currency": schema.get("x-currency", "CNY"), "labels": schema.get("x-labels") or {}, "description": schema.get("description", "")},
    )


def form_fields(view: View, entity: Entity) -> list[FormField]:
    """Every field a person can fill in, built-in ones first."""
    built_in = [builtin_field(view, entity, name, info) for name, info in entity.fields.model_fields.items()]
    return [*built_in, *(custom_field(f) for f in view.fields(entity.name).fields.values())]


def display_fields(view: View, entity: Entity) -> list[FormField]:
    """The fields shown on a list or a detail page: stored built-ins, then custom fields."""
    return [f for f in form_fields(view, entity) if f.custom or f.name in entity.columns]


# -- reading a submitted form ---------------------------------------------------------------


def _number(text: str, kind: str) -> Any:
    try:
        if kind == "integer" or kind == "reference":
            return parse_int(text, [])
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
        kind = "integer" if form_field.widget in ("integer", "reference") else "number"
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


def form_values(record: dict[str, Any] | None, fields: list[FormField], tzinfo: Any) -> dict[str, Any]:
    """What each input shows: the record's values, as the input's ``value`` attribute expects."""
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
        if form_field.widget == "list" and isinstance(value, list):
            value = ", ".join(map(str, value))
        elif form_field.widget == "json" and value is not None:
            value = json.dumps(value, ensure_ascii=False)
        values[form_field.key] = value
    return values
