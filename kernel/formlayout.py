"""Form layout: which fields a record's form asks for, in which sections, in what sequence.

An entity declares it (all optional, see :class:`~kernel.entities.Entity`):

- ``form_sections``: titled groups of built-in fields, in order (:class:`~kernel.entities.FormSection`);
  a field named in no section follows in a last "More" section, custom fields in "Custom fields";
- ``read_only``: fields the system sets (derived values, timestamps a job writes): the
  detail page shows them, a form never offers them as inputs;
- ``field_requires``: field → the plugin or entity it needs; without it the field is left out
  everywhere (form, detail page, list, import), as if the entity had no such field;
- ``title_field``: the column that names a record (see :func:`kernel.entities.title_column`).

:func:`laid_out` sorts and marks the fields :func:`kernel.fielddescriptions.form_fields`
describes; :func:`input_fields` and :func:`sections` are what the create and edit form use.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .entities import Entity
    from .fielddescriptions import FormField
    from .site import View


def N_(message: str) -> str:
    return message


DETAILS = N_("Details")
MORE = N_("More")
CUSTOM = N_("Custom fields")


@dataclass(frozen=True)
class Section:
    """One group of inputs on a form: ``label`` is a ``{"en", "zh_CN"}`` dict or text to translate."""

    name: str
    label: Any
    fields: tuple[FormField, ...]

    def label_text(self, locale: str, gettext: Any) -> str:
        from .i18n import pick

        return pick(self.label, locale, self.name) if isinstance(self.label, dict) else str(gettext(self.label))


def available(view: View, entity: Entity, name: str) -> bool:
    """Whether field ``name`` shows at all: its ``field_requires`` plugin is enabled or entity registered."""
    needed = entity.field_requires.get(name) if hasattr(entity, "field_requires") else None
    return needed is None or needed in view.enabled or needed in view.entities


def laid_out(view: View, entity: Entity, built_in: list[FormField]) -> list[FormField]:
    """``built_in`` as the entity's sections place them (the rest after, in model order), without
    fields whose plugin is missing, and with ``read_only`` set on the declared ones."""
    read_only = set(getattr(entity, "read_only", ()))
    order = {name: index for index, name in enumerate(n for s in getattr(entity, "form_sections", ()) for n in s.fields)}
    kept = [f for f in built_in if available(view, entity, f.name)]
    kept.sort(key=lambda f: order.get(f.name, len(order)))  # stable: model order among the rest
    return [dataclasses.replace(f, read_only=True) if f.name in read_only else f for f in kept]


def input_fields(fields: list[FormField], carried: Any = None) -> list[FormField]:
    """The fields a form offers as inputs: never a read-only one, unless a new record's address
    names it (``/r/tasks/new?entity=notes&record_id=5``, a related card's "New" link): then it is
    carried along as a hidden value, never typed."""
    return [f for f in fields if not f.read_only or (carried is not None and f.key in carried)]


def sections(entity: Entity, fields: list[FormField]) -> list[Section]:
    """``fields`` (inputs, built-in and custom) grouped as the entity's form shows them; empty sections are left out."""
    built_in = {f.name: f for f in fields if not f.custom}
    found: list[Section] = []
    placed: set[str] = set()
    for declared in getattr(entity, "form_sections", ()):
        shown = tuple(built_in[n] for n in declared.fields if n in built_in)
        placed.update(declared.fields)
        if shown:
            found.append(Section(declared.name, declared.label, shown))
    rest = tuple(f for name, f in built_in.items() if name not in placed)
    if rest:
        found.append(Section("more" if found else "details", MORE if found else DETAILS, rest))
    custom = tuple(f for f in fields if f.custom)
    if custom:
        found.append(Section("custom", CUSTOM, custom))
    return found
