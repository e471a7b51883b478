"""Field descriptions: what each field of an entity is, for every place that shows or reads one.

Built-in fields come from the entity's pydantic model, custom fields from their
JSON Schema; each becomes a :class:`FormField` that says which widget draws it,
its label, choices, bounds and the entity a reference points at. The web UI's
forms and lists, the import's column matching and the export's columns all read
fields through :func:`form_fields`, :func:`display_fields` and :func:`export_columns`,
so they agree. Nothing here knows about HTTP.
"""

from __future__ import annotations

import dataclasses

import re
import types
import typing
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from .db import Money
from .i18n import pick

if TYPE_CHECKING:
    from .entities import Entity
    from .site import View


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
PHONE_NAMES = ("phone", "mobile")
WIDGETS = {
    "string": "text", "email": "email", "uri": "url", "phone": "tel", "date": "date", "date-time": "datetime",
    "integer": "integer", "number": "number", "money": "money", "boolean": "checkbox",
    "enum": "select", "option": "select", "multi_enum": "multiselect", "reference": "reference",
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
    read_only: bool = False  # derived or set by the system: shown, never an input (Entity.read_only)

    @property
    def key(self) -> str:
        return f"custom.{self.name}" if self.custom else self.name

    @property
    def input_id(self) -> str:
        return "f-" + self.key.replace(".", "-")

    def choice_colour(self, value: Any) -> str | None:
        """An option-list choice's colour (``#rrggbb``), if it has one."""
        return self.extra.get("colours", {}).get(value) if isinstance(value, str) else None

    def choice_label(self, value: Any, locale: str, gettext: Any = None) -> str:
        """An option's label: from the schema's ``x-labels``, else the value (translated by the catalogs)."""
        labels = self.extra.get("labels", {}).get(value)
        if labels:
            return pick(labels, locale, str(value))
        return str(gettext(str(value))) if gettext is not None else str(value)

    def cascade(self, locale: str) -> list[list[Any]]:
        """A tree option list's live options as ``[code, parent, own label]`` (the cascading selects); ``[]`` otherwise."""
        return [[code, parent, pick(label, locale, code)] for code, parent, label in self.extra.get("tree_nodes", ())]

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
    machine = getattr(entity, "states", None)  # (an action's body has no entity)
    if machine is not None and name == machine.field and machine.states:  # a fixed state machine: its states, in order
        labels_ = {"labels": {state.key: dict(state.label) for state in machine.states}}
        return FormField(name, widget="select", choices=tuple(s.key for s in machine.states), extra=labels_, **common)
    listed = option_list(view, extra)
    if listed is not None:
        widget = "multiselect" if typing.get_origin(annotation) is list else "select"  # several codes, or one
        return FormField(name, widget=widget, choices=tuple(o.code for o in listed.ordered() if o.live), extra=option_extra(listed), **common)
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
        kind = "integer" if item is int else "phone" if extra.get("x-format") == "phone" else "string"
        return FormField(name, widget="list", reference=target, extra={"item": kind}, **common)
    if annotation is bool:
        return FormField(name, widget="checkbox", **common)
    if annotation is int:
        target = reference_target(view, entity, name, extra)
        if target:
            return FormField(name, widget="reference", reference=target, **common)
        return FormField(name, widget="integer", minimum=meta.get("ge"), maximum=meta.get("le"), **common)
    if annotation in (float, Decimal):
        column = entity.table.c.get(name) if hasattr(entity, "table") else None
        if column is not None and isinstance(column.type, Money):  # an amount: decimal text, never a float
            return FormField(name, widget="money", minimum=meta.get("ge"), maximum=meta.get("le"), **common)
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
        if extra.get("x-format") == "phone" or name in PHONE_NAMES or name.endswith("_phone"):  # E.164 stored, shown the local way (kernel.phones); a tel: link and a phone keypad
            return FormField(name, widget="tel", max_length=limit, **common)
        named = view.entities.get(name + "s")
        if named is not None and "name" in named.columns and name != entity.name:
            return FormField(name, widget="select", extra={"choices_from": named.name}, **common)
        return FormField(name, widget="textarea" if long_text else "text", max_length=limit, **common)
    return FormField(name, widget="json", **common)


def option_list(view: Any, schema: Any) -> Any:
    """The :class:`~kernel.optionlists.OptionList` a field's schema names (``x-options``), if enabled."""
    name = schema.get("x-options") if isinstance(schema, dict) else None
    lists = getattr(view, "option_lists", None) or {}
    return lists.get(name) if isinstance(name, str) else None


def option_extra(listed: Any) -> dict[str, Any]:
    """What a page needs to show an option-list field: labels (archived options too), colours, the list;
    for a tree, its live options as ``(code, parent, own label)`` (the cascading selects) and each
    option's descendants (a filter on a province takes its cities too)."""
    extra = {
        "labels": listed.labels, "colours": listed.colours, "option_list": listed.name, "tree": listed.tree,
        "filter_choices": tuple(o.code for o in listed.ordered() if o.merged_into is None),  # archived ones are still on records
    }
    if listed.tree:
        extra["tree_nodes"] = tuple((o.code, o.parent if o.parent in listed.by_code else None, dict(o.label)) for o in listed.ordered() if o.live)
        extra["descendants"] = _descendants(listed)
    return extra


def _descendants(listed: Any) -> dict[str, tuple[str, ...]]:
    children: dict[str, list[str]] = {}
    for option in listed.options:
        if option.parent and option.merged_into is None:
            children.setdefault(option.parent, []).append(option.code)
    found: dict[str, tuple[str, ...]] = {}
    for code in children:
        seen: list[str] = []
        stack = list(children[code])
        while stack:
            child = stack.pop()
            if child not in seen and child != code:
                seen.append(child)
                stack.extend(children.get(child, ()))
        found[code] = tuple(seen)
    return found


def custom_field(field_: Any, view: Any = None) -> FormField:
    schema = field_.schema
    choices = tuple(schema.get("enum") or schema.get("items", {}).get("enum") or ())
    several = schema.get("type") == "array"
    listed = option_list(view, schema.get("items") if several else schema)
    if listed is not None:
        return FormField(
            field_.name, label=field_.label or humanize(field_.name), widget="multiselect" if several else "select", custom=True,
            choices=tuple(o.code for o in listed.ordered() if o.live), required=field_.required,
            extra={**option_extra(listed), "description": schema.get("description", "")},
        )
    return FormField(
        field_.name,
        label=field_.label or humanize(field_.name),
        widget=WIDGETS.get(field_.kind, "text"),
        custom=True,
        choices=choices,
        reference=schema.get("x-entity"),
        required=field_.required,
        default=schema.get("default"),
        minimum=field_.minimum,
        maximum=schema.get("maximum"),
        max_length=field_.max_length,
        extra={"currency": schema.get("x-currency", "CNY"), "labels": schema.get("x-labels") or {}, "description": schema.get("description", "")},
    )


def form_fields(view: View, entity: Entity) -> list[FormField]:
    """Every field of the entity, built-in ones first in the order of its form layout (see
    :mod:`kernel.formlayout`); a field whose plugin or entity is not enabled is left out, a
    read-only one is marked (``read_only``)."""
    from .formlayout import laid_out

    built_in = [_state_named(entity, builtin_field(view, entity, name, info)) for name, info in entity.fields.model_fields.items()]
    return [*laid_out(view, entity, built_in), *(custom_field(f, view) for f in view.fields(entity.name).fields.values())]


def _state_named(entity: Entity, found: FormField) -> FormField:
    """The state field of an entity whose states admins edit (``kernel_states``) is shown by its state's
    label, looked up when shown (``extra["state_labels_of"]``): the labels are data, not code."""
    machine = getattr(entity, "states", None)
    if machine is None or machine.states or found.name != machine.field:
        return found
    return dataclasses.replace(found, extra={**found.extra, "state_labels_of": entity.name})


def display_fields(view: View, entity: Entity) -> list[FormField]:
    """The fields shown on a list or a detail page: stored built-ins, then custom fields."""
    return [f for f in form_fields(view, entity) if f.custom or f.name in entity.columns]


#: Columns every record has besides its fields (an export's first and last columns).
SYSTEM_COLUMNS = (
    FormField("id", N_("ID"), "integer"),
    FormField("created_at", N_("Created at"), "datetime"),
    FormField("updated_at", N_("Updated at"), "datetime"),
)


def export_columns(view: View, entity: Entity) -> list[FormField]:
    """An export's columns: ``id``, the fields a form or detail page shows (never a password),
    the entity's active custom fields, then ``created_at`` and ``updated_at``."""
    fields = [f for f in display_fields(view, entity) if f.widget != "password" and f.name not in entity.hidden]
    return [SYSTEM_COLUMNS[0], *fields, *SYSTEM_COLUMNS[1:]]
