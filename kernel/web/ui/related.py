"""Records that point at a record, for the cards on its detail page, and forms pre-filled to point at it.

A record of entity B is related to a record of A when one of B's reference
fields holds its id: a built-in ``*_id`` field whose target is A (see
:func:`~kernel.web.ui.forms.reference_target`), or a custom field of format
``reference`` with ``x-entity`` A. A self-reference (a team's ``parent_id``)
makes a card too: the sub-teams. Each card costs one ``Records.list`` as the
user, so record rules apply and the count is the page's total; entities the
user may not read are left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from ... import permissions
from ...parsing import optional_id
from ...errors import RecordError
from .display import record_title, reference_labels, title_column
from ...fielddescriptions import FormField, display_fields
from .listing import list_columns

if TYPE_CHECKING:
    from ...entities import Entity
    from .context import UI

SHOWN = 5  # records a card lists before "See all"
EXTRA_COLUMNS = 2  # short columns a card shows next to each record's name


@dataclass(frozen=True)
class Link:
    """One reference field of ``entity`` that points at the entity whose detail page is shown."""

    entity: Entity
    field: FormField


def links_to(ui: UI, target: str) -> list[Link]:
    """Every reference field of an enabled entity whose target is ``target``, built-in fields first
    (worked out once per request: the related cards and the tabs both ask)."""
    cache = ui.request.state.__dict__.setdefault("crm_links_to", {})
    if target not in cache:
        cache[target] = _links_to(ui, target)
    return cache[target]


def _links_to(ui: UI, target: str) -> list[Link]:
    found = []
    for other in ui.view.entities.values():
        for form_field in display_fields(ui.view, other):
            if form_field.widget == "reference" and form_field.reference == target:
                found.append(Link(other, form_field))
    return found


def related_cards(ui: UI, entity: Entity, record: dict[str, Any]) -> list[dict[str, Any]]:
    """The cards of a detail page's Related section, one per link the user may read.

    A card with no record is shown only to a user who may create one there (with its "New" link).
    """
    links = [link for link in links_to(ui, entity.name) if _allowed(ui, link.entity.name, "read")]
    per_entity: dict[str, int] = {}
    for link in links:
        per_entity[link.entity.name] = per_entity.get(link.entity.name, 0) + 1
    cards = []
    for link in links:
        other, form_field = link.entity, link.field
        try:
            page = ui.site.records.list(ui.actor, other.name, filters={form_field.name: record["id"]}, sort="-id", limit=SHOWN)
        except RecordError:
            continue
        can_create = _allowed(ui, other.name, "create")
        if page.total == 0 and not can_create:
            continue
        cards.append(_card(ui, link, record, page, can_create, named=per_entity[other.name] > 1 or other.name == entity.name))
    return cards


def _card(ui: UI, link: Link, record: dict[str, Any], page: Any, can_create: bool, *, named: bool) -> dict[str, Any]:
    other, form_field = link.entity, link.field
    fields = display_fields(ui.view, other)
    title = title_column(other)
    columns = [f for f in list_columns(fields, title) if f.key != form_field.key and f.name != title][:EXTRA_COLUMNS]
    refs = reference_labels(ui, columns, page.items)
    heading = ui.label(other.label_plural, other.name)
    if named:
        heading = f"{heading} · {form_field.label_text(ui.locale, ui.gettext)}"
    query = {form_field.key: record["id"]}
    return {
        "id": f"related-{other.name}-{form_field.key.replace('.', '-')}",
        "entity": other.name,
        "heading": heading,
        "total": page.total,
        "rows": [{"id": r["id"], "title": record_title(other, r), "record": r} for r in page.items],
        "columns": columns,
        "refs": refs,
        "see_all": f"/r/{other.name}?" + urlencode({f"f.{k}": v for k, v in query.items()}) if page.total else None,
        "new": f"/r/{other.name}/new?" + urlencode({**query, "_back": f"/r/{form_field.reference}/{record['id']}"}) if can_create else None,
        "new_label": ui.gettext("New %(thing)s", thing=ui.label(other.label, other.name)),
    }


def _allowed(ui: UI, entity: str, action: str) -> bool:
    return permissions.allowed(ui.site, ui.actor, entity, action)


def prefilled(fields: list[FormField], params: Any, values: dict[str, Any]) -> dict[str, Any]:
    """A new record's input values with those the query string names (``?owner_id=7&custom.rating=hot``).

    Only keys of the form's fields count; nothing is judged here: the values are what
    the inputs show, and the write path checks them when the form is submitted.
    """
    filled = dict(values)
    for form_field in fields:
        key = form_field.key
        if key not in params or form_field.widget == "password":
            continue
        if form_field.widget == "multiselect":
            filled[key] = [v for v in params.getlist(key) if v]
        elif form_field.widget == "checkbox":
            filled[key] = params.get(key, "").lower() in ("1", "true", "on", "yes")
        else:
            text = params.get(key, "")[:2000].replace("\x00", "")
            found = optional_id(text) if form_field.widget == "reference" else None
            filled[key] = found if found is not None else text  # an id, so the input shows the record's name
    return filled


# -- tabs with counts (Entity.tab_counts) ----------------------------------------------------

TAB_ROWS = 20  # records a related tab lists before "See all"


def tab_links(ui: UI, entity: Entity) -> list[Link]:
    """The links :attr:`~kernel.entities.Entity.tab_counts` names, in its order, that the user may read:
    ``"contacts"`` (its first reference to ``entity``) or ``"tasks.customer_id"``."""
    links = links_to(ui, entity.name)
    found: list[Link] = []
    for named in entity.tab_counts:
        other, _, key = named.partition(".")
        link = next((each for each in links if each.entity.name == other and (not key or each.field.key == key)), None)
        if link is not None and link not in found and _allowed(ui, other, "read"):
            found.append(link)
    return found


def tab_key(link: Link) -> str:
    """The ``?tab=`` value of a related tab: ``related-contacts-customer_id``."""
    return f"related-{link.entity.name}-{link.field.key.replace('.', '-')}"


def related_tabs(ui: UI, entity: Entity, record: dict[str, Any], cards: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """One tab per declared related entity, with the number of its records pointing here that the
    user may read: the related card's total when the page shows the cards, else one counted
    ``Records.list`` each."""
    known = {card["id"]: card["total"] for card in cards or ()}
    tabs = []
    for link in tab_links(ui, entity):
        if tab_key(link) in known:
            tabs.append({"key": tab_key(link), "label": ui.label(link.entity.label_plural, link.entity.name), "count": known[tab_key(link)]})
            continue
        try:
            total = ui.site.records.list(ui.actor, link.entity.name, filters={link.field.name: record["id"]}, limit=1).total
        except RecordError:
            continue
        tabs.append({"key": tab_key(link), "label": ui.label(link.entity.label_plural, link.entity.name), "count": total})
    return tabs


def tab_card(ui: UI, entity: Entity, record: dict[str, Any], tab: str) -> dict[str, Any] | None:
    """The card a related tab shows: up to :data:`TAB_ROWS` records, "See all" and "New"."""
    link = next((each for each in tab_links(ui, entity) if tab_key(each) == tab), None)
    if link is None:
        return None
    try:
        page = ui.site.records.list(ui.actor, link.entity.name, filters={link.field.name: record["id"]}, sort="-id", limit=TAB_ROWS)
    except RecordError:
        return None
    return _card(ui, link, record, page, _allowed(ui, link.entity.name, "create"), named=False)
