"""Entity metadata: what a kind of record is called, where it is stored, what it offers.

A plugin returns :class:`Entity` objects from ``register_entities``. Built-in
fields come from a pydantic model (what a caller may send); the table from a
SQLAlchemy model built on :class:`kernel.db.RecordMixin`. Custom fields are
added by admins at run time (see :mod:`kernel.customfields`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Optional

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, create_model

from .sequences import NumberSequence, check_numbered
from .states import StateMachine, check_machine

if TYPE_CHECKING:
    from .records import Actor, Site

Labels = dict[str, str]  # {"en": "Customer", "zh_CN": "客户"}
ActionHandler = Callable[..., dict[str, Any]]

#: Columns every record has, which no input model may set.
SYSTEM_FIELDS = ("id", "created_at", "updated_at", "custom")


@dataclass(frozen=True)
class Action:
    """Something a user can do to one record besides editing it: ``POST /api/v1/E/{id}/NAME``.

    ``handler(site=, conn=, actor=, entity=, record=, body=)`` runs inside the
    write transaction and returns the response body. ``body`` is the pydantic
    model of the request body, if it takes one.
    """

    name: str
    label: Labels
    handler: ActionHandler
    body: type[BaseModel] | None = None
    confirm: Labels | None = None  # a question the UI asks before running it
    #: A page of the plugin's own that runs this action in the web UI instead of the generic
    #: form (``"/p/notes/review/{id}"``; ``{id}`` is the record's id). The generic
    #: ``/r/E/ID/act/NAME`` page redirects there, keeping its query string.
    page: str | None = None
    #: False: no button on the record's page (the action is offered elsewhere, e.g. by a notice
    #: that only shows when it applies); the API and ``/r/E/ID/act/NAME`` still run it.
    button: bool = True
    #: When the actor cannot see the record, ``unseen(site=, conn=, actor=, entity=, record_id=)``
    #: may raise a refusal that tells someone entitled to know more than "not found" (a pool's
    #: member who lost the race for a record hears that it is taken: 409, not 404); returning lets
    #: the 404 stand.
    unseen: Callable[..., None] | None = None


@dataclass(frozen=True)
class ParentRef:
    """Where a child row names its parent: ``column`` holds the parent's id; the parent's entity is
    ``entity`` (a fixed one) or the value of ``entity_column`` (the generic pair)."""

    column: str
    entity: str | None = None
    entity_column: str | None = None


@dataclass(frozen=True)
class FormSection:
    """One titled group of a record's form: ``FormSection("contact", {"en": "Contact", "zh_CN": "联系方式"}, ("phone", "email"))``."""

    name: str
    label: Labels
    fields: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class Entity:
    """A kind of record: ``users``, ``teams``, or whatever a plugin registers."""

    name: str  # plural snake_case; also the URL segment
    label: Labels  # singular
    label_plural: Labels
    model: type[Any]  # SQLAlchemy declarative class with RecordMixin
    fields: type[BaseModel]  # built-in input fields, extra="forbid"
    searchable: tuple[str, ...] = ()
    actions: tuple[Action, ...] = ()
    hidden: tuple[str, ...] = ()  # stored but never returned (hashes, secrets)
    owner_field: str | None = None  # the column holding the owning user's id, if records are owned
    #: Text columns the kernel numbers on create, column → :class:`~kernel.sequences.NumberSequence`
    #: (read-only for callers; see :mod:`kernel.sequences`).
    numbered: dict[str, NumberSequence] = field(default_factory=dict)
    #: the record(s) this one belongs to; whoever may read the parent may read it (see :mod:`kernel.parents`):
    #: ``("folder_id", "folders")`` (a column and the entity it names), ``("entity", "record_id")``
    #: (a column naming the parent's entity and one holding its id), or a tuple of such pairs
    parent: tuple[Any, ...] = ()
    #: the column holding the record's state and where its states come from (see :mod:`kernel.states`)
    states: StateMachine | None = None
    #: True: a record of this entity goes to the recycle bin with its :attr:`parent` when the parent
    #: is deleted, and comes back with it (see :mod:`kernel.trash`); False: it stays (and a database
    #: foreign key to the parent, if any, refuses the parent's delete).
    deleted_with_parent: bool = False
    #: rows of other entities written with each record, as :class:`~kernel.children.Children`
    #: (order lines, instalments): see :mod:`kernel.children`
    children: tuple[Any, ...] = ()
    plugin: str = field(default="", compare=False)
    #: -- form layout (see :mod:`kernel.formlayout` and docs/building-blocks.md "Form layout metadata") --
    #: the form's sections, in order, each naming its built-in fields in order; fields named nowhere
    #: follow in a last section, custom fields in their own. Empty: one section, fields in model order.
    form_sections: tuple[FormSection, ...] = ()
    #: fields the write path or a job sets (derived, system): shown on the detail page, never inputs
    read_only: tuple[str, ...] = ()
    #: field → the plugin or entity it needs; the field appears nowhere (form, detail, list) unless
    #: a plugin of that name is enabled or an entity of that name is registered (``{"region_id": "regions"}``)
    field_requires: dict[str, str] = field(default_factory=dict)
    # -- list and record-page metadata (docs/building-blocks.md, "List and record-page metadata") --
    #: the column that names a record: the list's link, the record page's title, pickers and cards;
    #: ``""``: the first of ``name``, ``title``, ``subject``, ``email``, ``code`` (or the first searchable field)
    title_field: str = ""
    #: the list's columns, in order, for a user who has not chosen any (built-in names, or
    #: ``"custom.NAME"``); custom fields an admin adds come after them and never push them out.
    #: ``()``: the title field, then the short built-in fields, as many as fit
    list_columns: tuple[str, ...] = ()
    #: key figures the record page's summary header shows next to the state badge and the owner
    #: (built-in names or ``"custom.NAME"``), e.g. ``("level", "phone", "last_followed_at")``
    summary_fields: tuple[str, ...] = ()
    #: the menu section the entity's entry goes under: a key declared with ``register_menu_sections``
    #: (``""``: the unsectioned top of the menu), and its place there (lower first; ties keep the
    #: order the entities were registered in, never the label's alphabet)
    menu_section: str = ""
    menu_order: int = 100
    # -- board and tab metadata (docs/layout-metadata.md) --
    #: what a kanban card shows under its title, in order (built-in names or ``"custom.NAME"``):
    #: ``("customer_id", "amount", "expected_close")``; ``()``: the title only
    card_fields: tuple[str, ...] = ()
    #: a number or money field each kanban column totals in its header (``"amount"``): one set-based
    #: aggregate under the reader's record rules, over every record of the column (not only the cards shown)
    card_total: str = ""
    #: related entities whose records get a tab of their own on the record page, showing how many
    #: there are (under the reader's record rules): ``("contacts", "followups", "tasks")``; an entity
    #: pointing at this one through two fields names the one it means: ``"tasks.customer_id"``
    tab_counts: tuple[str, ...] = ()

    @property
    def table(self) -> sa.Table:
        return self.model.__table__

    @cached_property
    def unit(self) -> dict[str, dict[str, str]]:
        """The labels as the unit of a count (:func:`kernel.i18n.counted`, :func:`kernel.i18n.pick_counted`):
        each locale's singular is its CLDR ``one`` form, its plural the ``other`` (``1 note``, ``2 notes``)."""
        one, other = ({"en": labels} if isinstance(labels, str) else labels for labels in (self.label, self.label_plural))
        return {locale: {"one": one.get(locale) or text, "other": text} for locale, text in other.items()}

    @cached_property
    def update_fields(self) -> type[BaseModel]:
        """The input model for a PATCH: every built-in field optional, unknown keys refused."""
        optional = {
            name: (Optional[info.annotation], None)  # noqa: UP045 - runtime construction
            for name, info in self.fields.model_fields.items()
        }
        return create_model(  # type: ignore[call-overload,no-any-return]
            f"{self.fields.__name__}Update",
            __config__=ConfigDict(extra="forbid", strict=self.fields.model_config.get("strict", False)),
            **optional,
        )

    @cached_property
    def columns(self) -> tuple[str, ...]:
        """Stored columns a reader may see, in table order."""
        return tuple(c.name for c in self.table.columns if c.name not in self.hidden)

    @cached_property
    def visible_values(self) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
        """Picks the values of :attr:`columns`, in order, out of a row of the whole table (``select(table)``)."""
        names = [c.name for c in self.table.columns]
        positions = [names.index(name) for name in self.columns]
        if len(positions) == 1:
            return lambda row: (row[positions[0]],)
        return itemgetter(*positions)

    def action(self, name: str) -> Action | None:
        return next((a for a in self.actions if a.name == name), None)

    @cached_property
    def parents(self) -> tuple[ParentRef, ...]:
        """:attr:`parent` as references: one pair, or a tuple of pairs."""
        pairs = (self.parent,) if self.parent and isinstance(self.parent[0], str) else self.parent
        columns = self.table.c
        found = []
        for pair in pairs:
            if not (isinstance(pair, tuple) and len(pair) == 2 and all(isinstance(p, str) for p in pair)):
                raise TypeError(f"entity {self.name!r}: parent {pair!r} must be a pair of names")
            first, second = pair
            if first not in columns:
                raise TypeError(f"entity {self.name!r}: parent column {first!r} is not a column of its table")
            if second in columns:
                found.append(ParentRef(column=second, entity_column=first))
            else:
                found.append(ParentRef(column=first, entity=second))
        return tuple(found)

    def json_schema(self) -> dict[str, Any]:
        """JSON Schema of the built-in input fields."""
        return self.fields.model_json_schema()


TITLE_COLUMNS = ("name", "title", "subject", "email", "code")


def title_column(entity: Entity) -> str | None:
    """The column that names a record: the declared :attr:`Entity.title_field`, a usual name, else the first searchable field."""
    if entity.title_field:
        return entity.title_field
    for name in TITLE_COLUMNS:
        if name in entity.columns:
            return name
    return entity.searchable[0] if entity.searchable else None


def record_title(entity: Entity, record: dict[str, Any]) -> str:
    """What names ``record`` on a page and in the recycle bin: its name, title, subject… (see :func:`title_column`), else ``#id``."""
    column = title_column(entity)
    value = record.get(column) if column else None
    return str(value) if value not in (None, "") else f"#{record['id']}"


#: Names the API uses under ``/api/v1`` for itself.
RESERVED_NAMES = frozenset({"meta", "auth", "plugins", "openapi.json", "audit", "trash", "restore", "public", "aggregate"})
#: Action names the kernel provides itself (``assign``: for every owned entity, see :mod:`kernel.ownership`;
#: ``restore``: bring a record back from the recycle bin, see :mod:`kernel.trash`; ``files``: its attachments).
#: ``assign`` is not among them: an entity whose owners follow a plugin's rules (a pool's limits) may get
#: an ``assign`` action of that plugin, which then answers ``POST /api/v1/E/{id}/assign`` instead of the kernel's.
RESERVED_ACTIONS = frozenset({"files", "restore", "trash"})
ENTITY_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


def check_entity(entity: Entity) -> None:
    """Refuse a definition whose name, model and input fields disagree (caught at start-up, not at first write)."""
    if not ENTITY_NAME.match(entity.name) or entity.name in RESERVED_NAMES:
        raise TypeError(f"entity {entity.name!r}: a name must be plural snake_case and not one of {sorted(RESERVED_NAMES)}")
    reserved = sorted(a.name for a in entity.actions if a.name in RESERVED_ACTIONS)
    if reserved:
        raise TypeError(f"entity {entity.name!r}: the action name {reserved[0]!r} is the kernel's own; do not declare it")
    if not entity.fields.model_config.get("extra") == "forbid":
        raise TypeError(f"entity {entity.name!r}: its fields model must set extra='forbid'")
    columns = {c.name for c in entity.table.columns}
    missing = set(SYSTEM_FIELDS) - columns
    if missing:
        raise TypeError(f"entity {entity.name!r}: table lacks {sorted(missing)}; build the model on RecordMixin")
    entity.parents  # noqa: B018 - raises TypeError on a bad declaration
    if entity.deleted_with_parent and not entity.parent:
        raise TypeError(f"entity {entity.name!r}: deleted_with_parent needs a parent declaration")
    stray = set(entity.fields.model_fields) - columns - set(entity_write_only(entity))
    if stray:
        raise TypeError(f"entity {entity.name!r}: input fields {sorted(stray)} have no column")
    check_numbered(entity)
    check_machine(entity)
    _check_form_layout(entity, columns)
    check_list_layout(entity)


def _check_form_layout(entity: Entity, columns: set[str]) -> None:
    """Form layout names only fields the entity has, each once."""
    inputs = set(entity.fields.model_fields)
    named = [name for section in entity.form_sections for name in section.fields]
    for name in [*named, *entity.read_only, *entity.field_requires]:
        if name not in inputs and name not in columns:
            raise TypeError(f"entity {entity.name!r}: layout names {name!r}, which is not one of its fields")
    if len(named) != len(set(named)):
        raise TypeError(f"entity {entity.name!r}: a field is in two form sections")


def check_list_layout(entity: Entity) -> None:
    """Refuse list and record-page metadata naming a column the entity does not have (custom
    fields, ``custom.NAME``, are added at run time and checked where they are shown)."""
    named = [("title_field", entity.title_field)] if entity.title_field else []
    named += [("list_columns", n) for n in entity.list_columns] + [("summary_fields", n) for n in entity.summary_fields]
    named += [("card_fields", n) for n in entity.card_fields] + ([("card_total", entity.card_total)] if entity.card_total else [])
    for where, name in named:
        if not isinstance(name, str) or (not name.startswith("custom.") and name not in entity.columns):
            raise TypeError(f"entity {entity.name!r}: {where} names {name!r}, which is not one of its columns")
    if entity.title_field.startswith("custom."):
        raise TypeError(f"entity {entity.name!r}: title_field must be a built-in column")
    if isinstance(entity.tab_counts, str) or not all(isinstance(n, str) and n for n in entity.tab_counts):
        raise TypeError(f"entity {entity.name!r}: tab_counts must be a tuple of entity names (or ENTITY.FIELD)")


def entity_write_only(entity: Entity) -> tuple[str, ...]:
    """Input fields that are not columns (a ``before_*`` hook turns them into columns, e.g. password)."""
    return tuple(getattr(entity.fields, "__write_only__", ()))

