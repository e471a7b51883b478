"""Showing stored values to a person: formatted for the locale, references as names."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from markupsafe import Markup, escape

from ... import phones
from ...masking import MASKED
from ...entities import TITLE_COLUMNS, record_title, title_column  # noqa: F401 - re-exported for the pages
from ...fielddescriptions import FormField
from ...titles import reference_titles

if TYPE_CHECKING:
    from ...entities import Entity
    from .context import UI


#: Widgets whose stored value is text a person typed (user data, shown as typed: ``translate="no"``).
TYPED_WIDGETS = ("text", "textarea")


def titled(ui: UI, entity: Entity, record: dict[str, Any]) -> str:
    """What names ``record`` for this reader: its per-language ``label`` where it has one (a role:
    销售代表 rather than ``sales_rep``), else its title (:func:`~kernel.entities.record_title`)."""
    label = record.get("label")
    if isinstance(label, dict) and any(isinstance(v, str) and v for v in label.values()):
        return ui.label(label, record_title(entity, record))
    return record_title(entity, record)


def reference_labels(ui: UI, fields: list[FormField], records: list[dict[str, Any]]) -> dict[tuple[str, int], str]:
    """``{(entity, id): title}`` for every record the given reference fields point at, one query per entity.

    Only records the user may see are named; others stay ``#id`` (:func:`kernel.titles.reference_titles`).
    """
    return reference_titles(ui.site, ui.actor, fields, records)


class Masked:
    """The value of a field masked for the reader (:mod:`kernel.masking`): false, so links and
    fallbacks leave it alone, and shown by :func:`show` as a lock and "Hidden"."""

    def __bool__(self) -> bool:
        return False

    def __str__(self) -> str:
        return ""


MASKED_VALUE = Masked()


def hidden_mark(ui: UI) -> Markup:
    """A lock and "Hidden": what a masked value looks like on a page."""
    text = ui.gettext("Hidden")
    title = ui.gettext("Masked for you: you may not see this value")
    return Markup('<span class="masked" title="{}">{} {}</span>').format(escape(title), _LOCK, escape(text))


_LOCK = Markup(
    '<svg aria-hidden="true" width="14" height="14" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" '
    'stroke-linecap="round" stroke-linejoin="round"><rect x="4" y="11" width="16" height="10" rx="2"/><path d="M8 11V7a4 4 0 0 1 8 0v4"/></svg>'
)


def raw_value(form_field: FormField, record: dict[str, Any]) -> Any:
    """The stored value of ``form_field`` in ``record`` (custom fields read from ``record["custom"]``),
    or :data:`MASKED_VALUE` when it is masked for the reader."""
    if form_field.name in (record.get(MASKED) or ()):
        return MASKED_VALUE
    if form_field.custom:
        return (record.get("custom") or {}).get(form_field.name)
    return record.get(form_field.name)


def show(ui: UI, form_field: FormField, value: Any, refs: dict[tuple[str, int], str] | None = None) -> str:
    """``value`` as text for the page (autoescaped by the template)."""
    if isinstance(value, Masked):
        return hidden_mark(ui)
    if value is None or value == "" or value == []:
        return ""
    if form_field.extra.get("state_labels_of"):  # an admin-edited state: its label
        return _state_labels(ui, form_field.extra["state_labels_of"]).get(value) or str(value)
    widget = form_field.widget
    if widget == "checkbox":
        return ui.gettext("Yes") if value else ui.gettext("No")
    if widget == "date":
        return ui.fmt.date(value)
    if widget == "datetime":
        return ui.fmt.datetime(value)
    if widget == "money":
        return ui.fmt.money(value, form_field.extra.get("currency", "CNY"))
    if widget in ("number", "integer"):
        return ui.fmt.number(value)
    if widget == "tel" and isinstance(value, str):
        return phones.display(value, phones.region_of(ui.site))
    if widget == "list" and isinstance(value, list):
        if form_field.extra.get("item") == "phone":
            region = phones.region_of(ui.site)
            return ", ".join(phones.display(v, region) for v in value)
        if form_field.reference:
            return ", ".join((refs or {}).get((form_field.reference, v), f"#{v}") for v in value)
        return ", ".join(map(str, value))
    if widget == "multiselect":
        return ", ".join(form_field.choice_label(v, ui.locale, ui.gettext) for v in value)
    if widget == "select":
        source = form_field.extra.get("choices_from")
        if source:  # another entity's names (a user's role): shown by that record's label
            return _named_labels(ui, source).get(value, str(value))
        return form_field.choice_label(value, ui.locale, ui.gettext)
    if widget == "reference" and isinstance(value, int):
        return (refs or {}).get((form_field.reference or "", value), f"#{value}")
    if widget == "password":
        return ""
    return str(value)


def phone_href(value: Any) -> str:
    """A ``tel:`` link's number: the digits, with a leading ``+`` if the number has one."""
    text = str(value or "")
    digits = "".join(c for c in text if c.isdigit())
    return ("+" if text.strip().startswith("+") else "") + digits


def _state_labels(ui: UI, entity: str) -> dict[Any, str]:
    """``state key → label`` in the reader's language over every set of ``entity``'s admin-edited states, read
    once per request (a key named differently in two sets reads as its first set, by set and position, names it)."""
    cache = ui.request.state.__dict__.setdefault("crm_state_labels", {})
    if entity not in cache:
        found: dict[Any, str] = {}
        for described in ui.site.states.describe(entity)["sets"]:
            for state in described["states"]:
                found.setdefault(state["key"], ui.label(state["label"], state["key"]))
        cache[entity] = found
    return cache[entity]  # type: ignore[no-any-return]


def _named_labels(ui: UI, source: str) -> dict[Any, str]:
    """``name → label`` of entity ``source``'s records the reader may see, read once per request."""
    cache = ui.request.state.__dict__.setdefault("crm_named_labels", {})
    if source not in cache:
        from .entitypage import choices_for

        probe = FormField(source, {}, widget="select", extra={"choices_from": source})
        cache[source] = dict(choices_for(ui, [probe]).get(probe.key, []))
    return cache[source]
