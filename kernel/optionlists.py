"""Option lists (选项列表): choices admins edit, stored on records as stable codes.

A plugin declares a list with its default options (``register_option_lists``) and points a
field at it with ``"x-options": "LIST"`` in the field's JSON Schema (a built-in field's
``json_schema_extra``, a custom field's schema). Records hold an option's **code**; pages,
exports and charts show its **label** in the reader's language, with its colour.

Admins change a list at run time (``/admin/option-lists``, ``/api/v1/meta/option-lists``):
labels in en and zh_CN, order, colour, parent (a tree: 省/市/区), archived. An archived option
stays on the records that hold it and is shown as before, but is not offered, and a write that
sets it anew is refused. Merging one option into another rewrites every record holding it in
one set-based ``UPDATE`` per field (each record's history says so) and leaves the merged option
archived, pointing at the one that absorbed it, so that its code and labels still resolve.

The stored rows are the admin's changes on top of what plugins declare: a declared option
nobody edited lives in code only; the first edit stores it. Every change is one audited
transaction that bumps the registry, so every process sees it within seconds (:mod:`kernel.site`).
A write may send an option's code or one of its labels (case and spaces ignored): an import of
"上海" or "Shanghai" stores the code ``shanghai``.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from . import audit
from .customfields import FIELD_NAME, field_expression
from .errors import Conflict, NotFound, ValidationError
from .i18n import pick
from .models import OptionDef, OptionListDef

if TYPE_CHECKING:
    import pluggy

    from .entities import Entity
    from .records import Actor
    from .site import Site, View

LISTS = OptionListDef.__table__
OPTIONS = OptionDef.__table__
LIST_NAME = re.compile(r"^[a-z][a-z0-9_]{0,38}(\.[a-z][a-z0-9_]{0,38})?$")
CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,39}$")
COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
LANGUAGES = ("en", "zh_CN")
MAX_OPTIONS = 2000
KEY = "x-options"


def normal(text: Any) -> str:
    """``" Shang  Hai "`` → ``"shang hai"``: how a typed value is compared with codes and labels."""
    return " ".join(str(text).split()).casefold()


@dataclass(frozen=True)
class Option:
    """One choice: ``code`` is what records hold, ``label`` what people read."""

    code: str
    label: dict[str, str]
    colour: str | None = None
    parent: str | None = None
    archived: bool = False
    position: int = 0
    #: made from free text (a migration) and waiting for an admin to merge or keep it
    review: bool = False
    merged_into: str | None = None

    @property
    def live(self) -> bool:
        """Offered for new values (not archived, not merged away)."""
        return not self.archived and self.merged_into is None

    def as_public(self) -> dict[str, Any]:
        return {
            "code": self.code, "label": dict(self.label), "colour": self.colour, "parent": self.parent,
            "archived": self.archived, "position": self.position, "review": self.review, "merged_into": self.merged_into,
        }


@dataclass(frozen=True)
class OptionList:
    """A named list of options; ``tree`` lets options name a parent option of the same list."""

    name: str
    label: dict[str, str]
    options: tuple[Option, ...] = ()
    tree: bool = False
    plugin: str = field(default="", compare=False)

    @cached_property
    def by_code(self) -> dict[str, Option]:
        return {o.code: o for o in self.options}

    @cached_property
    def _typed(self) -> dict[str, str]:
        """Normalized codes and labels → code; codes first, then live options' labels, then the others'."""
        found: dict[str, str] = {}
        for option in sorted(self.options, key=lambda o: not o.live):
            for text in (option.code, *option.label.values()):
                found.setdefault(normal(text), option.code)
        for option in self.options:
            found[normal(option.code)] = option.code
        return found

    def option(self, code: Any) -> Option | None:
        return self.by_code.get(code) if isinstance(code, str) else None

    def resolve(self, value: Any) -> Option | None:
        """The option ``value`` names (its code, else one of its labels), following merges."""
        if not isinstance(value, str):
            return None
        found = self.by_code.get(value) or self.by_code.get(self._typed.get(normal(value), ""))
        seen = set()
        while found is not None and found.merged_into and found.code not in seen:
            seen.add(found.code)
            found = self.by_code.get(found.merged_into, found)
        return found

    @property
    def live(self) -> tuple[Option, ...]:
        return tuple(o for o in self.options if o.live)

    def path(self, code: str, locale: str) -> str:
        """An option's label in ``locale``; in a tree, its ancestors' first: ``上海 / 浦东新区``."""
        parts, seen, option = [], set(), self.by_code.get(code)
        while option is not None and option.code not in seen:
            seen.add(option.code)
            parts.append(pick(option.label, locale, option.code))
            option = self.by_code.get(option.parent or "") if self.tree else None
        return " / ".join(reversed(parts)) if parts else code

    @cached_property
    def labels(self) -> dict[str, dict[str, str]]:
        """code → {"en", "zh_CN"} (tree options with their path), for every option, archived ones included."""
        return {o.code: {lang: self.path(o.code, lang) for lang in LANGUAGES} for o in self.options}

    @cached_property
    def colours(self) -> dict[str, str]:
        return {o.code: o.colour for o in self.options if o.colour}

    def ordered(self) -> list[Option]:
        """Options in display order; in a tree, each parent followed by its children."""
        flat = sorted(self.options, key=lambda o: (o.position, o.code))
        if not self.tree:
            return flat
        children: dict[str | None, list[Option]] = {}
        for option in flat:
            parent = option.parent if option.parent in self.by_code else None
            children.setdefault(parent, []).append(option)
        out: list[Option] = []

        def walk(parent: str | None, seen: set[str]) -> None:
            for option in children.get(parent, []):
                if option.code not in seen:
                    out.append(option)
                    walk(option.code, seen | {option.code})

        walk(None, set())
        return out + [o for o in flat if o not in out]  # a cycle's members, rather than lost

    def depth(self, code: str) -> int:
        depth, option, seen = 0, self.by_code.get(code), set()
        while self.tree and option is not None and option.parent in self.by_code and option.code not in seen:
            seen.add(option.code)
            depth, option = depth + 1, self.by_code[option.parent or ""]
        return depth

    def as_public(self, with_options: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "label": dict(self.label), "tree": self.tree, "plugin": self.plugin or None}
        if with_options:
            out["options"] = [o.as_public() for o in self.ordered()]
        return out


# -- loading ------------------------------------------------------------------------------------


def declared(pm: pluggy.PluginManager) -> dict[str, OptionList]:
    """The enabled plugins' ``register_option_lists`` answers, by name."""
    found: dict[str, OptionList] = {}
    for impl in reversed(pm.hook.register_option_lists.get_hookimpls()):
        for listed in impl.function() or ():
            check_declared(listed)
            if listed.name in found:
                raise TypeError(f"option list {listed.name!r} is declared by two plugins")
            ordered = tuple(dataclasses.replace(o, position=i) for i, o in enumerate(listed.options))
            found[listed.name] = dataclasses.replace(listed, options=ordered, plugin=impl.plugin_name)
    return found


def check_declared(listed: OptionList) -> None:
    if not LIST_NAME.match(listed.name):
        raise TypeError(f"option list {listed.name!r}: a name is lower-case letters, digits and _ (optionally PLUGIN.NAME)")
    codes = [o.code for o in listed.options]
    bad = next((c for c in codes if not CODE.match(c)), None)
    if bad is not None:
        raise TypeError(f"option list {listed.name!r}: code {bad!r} must be letters, digits, _ or - (at most 40)")
    if len(set(codes)) != len(codes):
        raise TypeError(f"option list {listed.name!r} names a code twice")
    bad = next((o.colour for o in listed.options if o.colour is not None and not COLOUR.match(o.colour)), None)
    if bad is not None:
        raise TypeError(f"option list {listed.name!r}: colour {bad!r} must be like #1f77b4")


def load(conn: sa.Connection, pm: pluggy.PluginManager) -> dict[str, OptionList]:
    """Declared lists with the stored changes on top, and the lists admins created."""
    lists = declared(pm)
    if not sa.inspect(conn).has_table(OPTIONS.name):  # a database not upgraded yet (``crm db upgrade`` reads the view)
        return lists
    for row in conn.execute(sa.select(LISTS)):
        base = lists.get(row.name)
        lists[row.name] = dataclasses.replace(base, label=row.label, tree=row.tree) if base else OptionList(row.name, row.label, tree=row.tree)
    stored: dict[str, list[Option]] = {}
    for row in conn.execute(sa.select(OPTIONS).order_by(OPTIONS.c.position, OPTIONS.c.id)):
        stored.setdefault(row.list_name, []).append(
            Option(row.code, row.label, row.colour, row.parent, row.archived, row.position, row.review, row.merged_into)
        )
    for name, rows in stored.items():
        base = lists.get(name)
        if base is None:
            continue  # its plugin is disabled: the rows wait for it
        mine = {o.code for o in rows}
        lists[name] = dataclasses.replace(base, options=(*rows, *(o for o in base.options if o.code not in mine)))
    return lists


# -- fields that use a list ----------------------------------------------------------------------


def list_of_schema(schema: Any) -> str | None:
    """The list a field's JSON Schema (or ``json_schema_extra``) names, if any."""
    return schema.get(KEY) if isinstance(schema, dict) and isinstance(schema.get(KEY), str) else None


def is_list(annotation: Any) -> bool:
    """``list[str]`` or ``list[str] | None``: a field holding several values."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)] if typing.get_origin(annotation) in (typing.Union, types.UnionType) else [annotation]
    return len(args) == 1 and typing.get_origin(args[0]) is list


def option_fields(view: View, entity: Entity, *, multiple: bool = False) -> list[tuple[str, bool, OptionList]]:
    """``(field, is_custom, list)`` for each field of ``entity`` that takes its choices from a list:
    one choice (``multiple`` False), or several (a list of codes: a built-in ``list[str]`` whose
    ``json_schema_extra`` names the list, a custom field ``{"type": "array", "items": {"type": "string",
    "x-options": LIST}}``). Worked out once per view (a view never changes; a new one replaces it)
    and entity: every create and change asks."""
    cache = view.__dict__.get("_option_fields")
    if cache is None:
        cache = {}
        object.__setattr__(view, "_option_fields", cache)  # View is frozen: a memo beside its fields, not one of them
    key = (entity.name, id(entity), multiple)
    held = cache.get(key)
    if held is None or held[0] is not entity:
        held = cache[key] = (entity, _option_fields(view, entity, multiple))  # the entity kept: its id stays its own
    return list(held[1])


def _option_fields(view: View, entity: Entity, multiple: bool) -> list[tuple[str, bool, OptionList]]:
    found = []
    for name, info in entity.fields.model_fields.items():
        listed = view.option_lists.get(list_of_schema(info.json_schema_extra) or "")
        if listed is not None and is_list(info.annotation) == multiple:
            found.append((name, False, listed))
    for custom in view.fields(entity.name).fields.values():
        schema = (custom.schema.get("items") if multiple else custom.schema) if custom.schema.get("type") == ("array" if multiple else "string") else None
        listed = view.option_lists.get(list_of_schema(schema) or "")
        if listed is not None:
            found.append((custom.name, True, listed))
    return found


def fields_using(view: View, list_name: str, *, multiple: bool = False) -> list[tuple[Entity, str, bool]]:
    return [
        (entity, name, custom)
        for entity in view.entities.values()
        for name, custom, listed in option_fields(view, entity, multiple=multiple)
        if listed.name == list_name
    ]


def clean(view: View, entity: Entity, values: dict[str, Any], record: dict[str, Any] | None = None) -> None:
    """Turn the option values of a create (``record`` None) or a change into codes, in place.

    A code or a label of an option is accepted; an archived option only when the record
    already holds it. Anything else is a :class:`ValidationError` naming the field.
    """
    for name, custom, listed in option_fields(view, entity):
        holder = values.get("custom") if custom else values
        if not isinstance(holder, dict) or holder.get(name) in (None, ""):
            if isinstance(holder, dict) and holder.get(name) == "":
                holder[name] = None
            continue
        loc = ["custom", name] if custom else [name]
        value = holder[name]
        option = listed.resolve(value)
        if option is None:
            shown = ", ".join(o.code for o in listed.live[:12]) + (", …" if len(listed.live) > 12 else "")
            raise ValidationError.at(loc, f"must be one of {shown}")  # the reader's language: kernel.messages
        current = ((record.get("custom") or {}).get(name) if custom else record.get(name)) if record is not None else None
        if not option.live and option.code != current:
            raise ValidationError.at(loc, f"{option.code!r} is archived in {listed.name}: records keep it, new values cannot use it")
        holder[name] = option.code
    for name, custom, listed in option_fields(view, entity, multiple=True):
        holder = values.get("custom") if custom else values
        if not isinstance(holder, dict) or not isinstance(holder.get(name), list):
            continue
        loc = ["custom", name] if custom else [name]
        current = ((record.get("custom") or {}).get(name) if custom else record.get(name)) if record is not None else None
        holder[name] = _codes(listed, holder[name], loc, current if isinstance(current, list) else [])


def _codes(listed: OptionList, values: list[Any], loc: list[Any], current: list[Any]) -> list[str]:
    """The codes of a multiple choice, in the list's order, each once; an archived option only if the record holds it."""
    codes: list[str] = []
    for index, value in enumerate(values):
        option = listed.resolve(value)
        if option is None:
            shown = ", ".join(o.code for o in listed.live[:12]) + (", …" if len(listed.live) > 12 else "")
            raise ValidationError.at([*loc, index], f"must be one of {shown}")
        if not option.live and option.code not in current:
            raise ValidationError.at([*loc, index], f"{option.code!r} is archived in {listed.name}: records keep it, new values cannot use it")
        if option.code not in codes:
            codes.append(option.code)
    order = {o.code: i for i, o in enumerate(listed.ordered())}
    return sorted(codes, key=lambda c: order.get(c, len(order)))


# -- admin changes -------------------------------------------------------------------------------


def get_list(site: Site, name: str) -> OptionList:
    found = site.view.option_lists.get(name)
    if found is None:
        raise NotFound(f"no option list named {name!r}", [{"loc": ["name"], "msg": "unknown option list"}])
    return found


def describe(site: Site, name: str) -> dict[str, Any]:
    """A list with its options and the fields that use it (``entity.field``)."""
    listed = get_list(site, name)
    used = [f"{entity.name}.{'custom.' if custom else ''}{field_}" for entity, field_, custom in fields_using(site.view, name)]
    return {**listed.as_public(), "fields": used}


def _labels(value: Any, loc: list[Any], fallback: dict[str, str] | None = None) -> dict[str, str]:
    if value is None and fallback is not None:
        return fallback
    if isinstance(value, str):
        value = {"en": value, "zh_CN": value}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ValidationError.at(loc, 'must be text or an object like {"en": "...", "zh_CN": "..."}')
    cleaned = {lang: " ".join(value.get(lang, "").split())[:120] for lang in LANGUAGES}
    if not any(cleaned.values()):
        raise ValidationError.at(loc, "needs a label in English or Chinese")
    return {lang: cleaned[lang] or cleaned["zh_CN" if lang == "en" else "en"] for lang in LANGUAGES}


def create_list(site: Site, actor: Actor, name: Any, label: Any, tree: Any = False) -> dict[str, Any]:
    """A new list of the admin's own (for custom fields); audited."""
    if not isinstance(name, str) or not LIST_NAME.match(name):
        raise ValidationError.at(["name"], "must be lower-case letters, digits and _ (at most 39), optionally PREFIX.NAME")
    if name in site.view.option_lists:
        raise Conflict(f"option list {name!r} already exists", [{"loc": ["name"], "msg": "already exists"}])
    if not isinstance(tree, bool):
        raise ValidationError.at(["tree"], "must be true or false")
    labels = _labels(label, ["label"])
    now = site.clock.now()
    with site.write() as conn:
        conn.execute(sa.insert(LISTS).values(name=name, label=labels, tree=bool(tree), updated_at=now))
        audit.add_entry(conn, actor, "option_lists", None, "create", {"name": [None, name], "label": [None, labels], "tree": [None, bool(tree)]}, at=now)
        site.bump(conn)
    site.refresh(force=True)
    return describe(site, name)


def change_list(site: Site, actor: Actor, name: str, *, label: Any = None, tree: Any = None) -> dict[str, Any]:
    listed = get_list(site, name)
    labels = _labels(label, ["label"], listed.label)
    is_tree = listed.tree if tree is None else bool(tree)
    if not is_tree and any(o.parent for o in listed.options):
        raise ValidationError.at(["tree"], "options still name parents; clear them first")
    now = site.clock.now()
    with site.write() as conn:
        values = {"label": labels, "tree": is_tree, "updated_at": now}
        if conn.execute(sa.update(LISTS).where(LISTS.c.name == name).values(values)).rowcount == 0:
            conn.execute(sa.insert(LISTS).values(name=name, **values))
        audit.add_entry(conn, actor, "option_lists", None, "update", {"name": name, "label": [listed.label, labels], "tree": [listed.tree, is_tree]}, at=now)
        site.bump(conn)
    site.refresh(force=True)
    return describe(site, name)


def _store(conn: sa.Connection, list_name: str, option: Option, now: Any) -> None:
    values = {
        "label": option.label, "position": option.position, "colour": option.colour, "parent": option.parent,
        "archived": option.archived, "review": option.review, "merged_into": option.merged_into, "updated_at": now,
    }
    changed = conn.execute(sa.update(OPTIONS).where(OPTIONS.c.list_name == list_name, OPTIONS.c.code == option.code).values(values))
    if changed.rowcount == 0:
        conn.execute(sa.insert(OPTIONS).values(list_name=list_name, code=option.code, **values))


def _check_option(listed: OptionList, option: Option) -> None:
    if option.colour is not None and not COLOUR.match(option.colour):
        raise ValidationError.at(["colour"], "must be a colour like #1f77b4 (or null)")
    if option.parent is not None:
        if not listed.tree:
            raise ValidationError.at(["parent"], f"{listed.name} is not a tree: its options have no parent")
        seen, at = {option.code}, listed.by_code.get(option.parent)
        if at is None:
            raise ValidationError.at(["parent"], f"{option.parent!r} is not an option of {listed.name}")
        while at is not None:
            if at.code in seen:
                raise ValidationError.at(["parent"], "would make the option its own ancestor")
            seen.add(at.code)
            at = listed.by_code.get(at.parent or "")
    if option.live:
        mine = {normal(text) for text in option.label.values()}
        for other in listed.live:
            if other.code != option.code and mine & {normal(text) for text in other.label.values()} and other.parent == option.parent:
                raise ValidationError.at(["label"], f"another option ({other.code}) already has this label")


def _option_values(body: dict[str, Any], base: Option) -> Option:
    colour = body.get("colour", base.colour)
    colour = (colour.strip() or None) if isinstance(colour, str) else colour
    if colour is not None and not isinstance(colour, str):
        raise ValidationError.at(["colour"], "must be a colour like #1f77b4 (or null)")
    parent = body.get("parent", base.parent)
    parent = parent.strip() or None if isinstance(parent, str) else parent
    if parent is not None and not isinstance(parent, str):
        raise ValidationError.at(["parent"], "must be an option's code or null")
    archived = body.get("archived", base.archived)
    if not isinstance(archived, bool):
        raise ValidationError.at(["archived"], "must be true or false")
    return dataclasses.replace(
        base, label=_labels(body.get("label"), ["label"], base.label), colour=colour, parent=parent, archived=archived,
        review=False if "review" in body and body["review"] is False else base.review,
    )


OPTION_KEYS = ("code", "label", "colour", "parent", "archived", "review")


def _body(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ValidationError.at(["body"], "must be a JSON object")
    unknown = sorted(set(body) - set(OPTION_KEYS))
    if unknown:
        raise ValidationError.at(["body", unknown[0]], f"unknown key; use {', '.join(OPTION_KEYS)}")
    return body


def add_option(site: Site, actor: Actor, name: str, body: Any) -> dict[str, Any]:
    """A new option at the end of the list; audited."""
    listed = get_list(site, name)
    body = _body(body)
    code = body.get("code")
    if not isinstance(code, str) or not CODE.match(code.strip()):
        raise ValidationError.at(["code"], "must be letters, digits, _ or - (at most 40), starting with a letter or digit")
    code = code.strip()
    if code in listed.by_code:
        raise Conflict(f"{name} already has an option {code!r}", [{"loc": ["code"], "msg": "already exists"}])
    if len(listed.options) >= MAX_OPTIONS:
        raise ValidationError.at(["code"], f"a list holds at most {MAX_OPTIONS} options")
    position = max((o.position for o in listed.options), default=-1) + 1
    option = _option_values(body, Option(code, {}, position=position))
    _check_option(listed, option)
    _save(site, actor, listed, [option], "add_option", {"code": [None, code], "option": [None, option.as_public()]})
    return describe(site, name)


def change_option(site: Site, actor: Actor, name: str, code: str, body: Any) -> dict[str, Any]:
    """Change an option's labels, colour, parent, archived flag (or clear its review flag); audited."""
    return change_options(site, actor, name, {code: body})


def change_options(site: Site, actor: Actor, name: str, bodies: dict[str, Any], order: list[str] | None = None) -> dict[str, Any]:
    """Change several options (``{code: body}``, as :func:`change_option` takes) and, with ``order``,
    their order, in one transaction (the admin page's "Save"); each option is checked against the
    list as it will be after every change."""
    listed = get_list(site, name)
    changed: dict[str, Option] = {}
    for code, body in bodies.items():
        before = listed.option(code)
        if before is None:
            raise NotFound(f"{name} has no option {code!r}", [{"loc": ["code"], "msg": "unknown option"}])
        body = _body(body)
        if "code" in body and body["code"] != code:
            raise ValidationError.at(["code"], "a code never changes (records hold it); add a new option and merge this one into it")
        after = _option_values(body, before)
        if before.merged_into and not after.archived:
            raise ValidationError.at(["archived"], f"was merged into {before.merged_into!r}; it stays archived")
        if after != before:
            changed[code] = after
    if order is not None:
        if not isinstance(order, list) or not all(isinstance(c, str) and c in listed.by_code for c in order) or len(set(order)) != len(order):
            raise ValidationError.at(["codes"], "must be a list of the list's codes, each once")
        rest = [o.code for o in sorted(listed.options, key=lambda o: (o.position, o.code)) if o.code not in order]
        for position, code in enumerate([*order, *rest]):
            current = changed.get(code) or listed.by_code[code]
            if current.position != position:
                changed[code] = dataclasses.replace(current, position=position)
    after_list = dataclasses.replace(listed, options=tuple(changed.get(o.code, o) for o in listed.options))
    for option in changed.values():
        try:
            _check_option(after_list, option)
        except ValidationError as exc:
            raise ValidationError(f"{option.code}: {exc.message}", [{**d, "loc": ["options", option.code, *d["loc"]]} for d in exc.details]) from None
    if changed:
        noted = {code: [listed.by_code[code].as_public(), option.as_public()] for code, option in changed.items()}
        _save(site, actor, listed, list(changed.values()), "change_options", {"options": noted})
    return describe(site, name)


def reorder(site: Site, actor: Actor, name: str, codes: Any) -> dict[str, Any]:
    """Put the options in the order of ``codes`` (each code once; those left out follow, as they were)."""
    return change_options(site, actor, name, {}, codes if isinstance(codes, list) else [None])


def _save(site: Site, actor: Actor, listed: OptionList, options: list[Option], action: str, noted: dict[str, Any]) -> None:
    now = site.clock.now()
    with site.write() as conn:
        for option in options:
            _store(conn, listed.name, option, now)
        audit.add_entry(conn, actor, "option_lists", None, action, {"list": listed.name, **noted}, at=now)
        site.bump(conn)
    site.refresh(force=True)


def merge(site: Site, actor: Actor, name: str, source: Any, target: Any) -> dict[str, Any]:
    """Merge option ``source`` into ``target``: every record holding ``source`` (any field using
    the list, built-in or custom) is rewritten in one ``UPDATE`` per field, each such record's
    history notes the change, and ``source`` is archived as merged. Returns the list and
    ``{"records": {"entity.field": N}}``."""
    listed = get_list(site, name)
    old, new = listed.option(source), listed.option(target)
    if old is None:
        raise NotFound(f"{name} has no option {source!r}", [{"loc": ["from"], "msg": "unknown option"}])
    if new is None or not new.live:
        raise ValidationError.at(["into"], f"{target!r} is not a current option of {name}")
    if old.code == new.code:
        raise ValidationError.at(["into"], "an option cannot be merged into itself")
    now = site.clock.now()
    dialect = site.engine.dialect.name
    counts: dict[str, int] = {}
    with site.write() as conn:
        for entity, field_, custom in fields_using(site.view, name):
            ids = _rewrite(conn, entity, field_, custom, old.code, new.code, now, dialect)
            counts[f"{entity.name}.{field_}"] = len(ids)
            key = f"custom.{field_}" if custom else field_
            audit.write(conn, (audit.entry(actor, now, entity.name, id_, "update", {key: [old.code, new.code]}) for id_ in ids))
        for entity, field_, custom in fields_using(site.view, name, multiple=True):
            changed = _rewrite_lists(conn, entity, field_, custom, listed, old.code, new.code, now, dialect)
            counts[f"{entity.name}.{field_}"] = len(changed)
            key = f"custom.{field_}" if custom else field_
            audit.write(conn, (audit.entry(actor, now, entity.name, id_, "update", {key: sides}) for id_, sides in changed.items()))
        merged = dataclasses.replace(old, archived=True, review=False, merged_into=new.code)
        moved = [dataclasses.replace(o, merged_into=new.code) for o in listed.options if o.merged_into == old.code]
        adopted = [dataclasses.replace(o, parent=new.code) for o in listed.options if o.parent == old.code and o.code != new.code]
        for option in (merged, *moved, *adopted):
            _store(conn, listed.name, option, now)
        audit.add_entry(conn, actor, "option_lists", None, "merge", {"list": name, "from": old.code, "into": new.code, "records": counts}, at=now)
        site.bump(conn)
    site.refresh(force=True)
    return {**describe(site, name), "records": counts}


def _rewrite(conn: sa.Connection, entity: Entity, name: str, custom: bool, old: str, new: str, now: Any, dialect: str) -> list[int]:
    """One set-based ``UPDATE … WHERE field = old RETURNING id``."""
    table = entity.table
    if not custom:
        statement = sa.update(table).where(table.c[name] == old).values({name: new, "updated_at": now})
    else:
        assert FIELD_NAME.match(name)
        from .customfields import CustomField

        expression = field_expression(CustomField(entity.name, name, {"type": "string"}), dialect)
        if dialect == "postgresql":
            value = sa.func.jsonb_set(table.c.custom, sa.literal_column(f"'{{{name}}}'"), sa.func.to_jsonb(sa.cast(sa.literal(new), sa.Text)), type_=table.c.custom.type)
        else:
            value = sa.func.json_set(table.c.custom, f"$.{name}", new, type_=table.c.custom.type)
        statement = sa.update(table).where(expression == old).values(custom=value, updated_at=now)
    return list(conn.scalars(statement.returning(table.c.id)))


def _rewrite_lists(conn: sa.Connection, entity: Entity, name: str, custom: bool, listed: OptionList, old: str, new: str, now: Any, dialect: str) -> dict[int, list[Any]]:
    """Multiple-choice fields: one ``SELECT`` of the records holding ``old``, one batched ``UPDATE``
    giving each its list with ``new`` in its place (once). Returns ``{id: [before, after]}``."""
    from .customfields import CustomField, contains_expression

    table = entity.table
    if custom:
        holds = contains_expression(CustomField(entity.name, name, {"type": "array", "items": {"type": "string"}}), dialect, old)
        rows = conn.execute(sa.select(table.c.id, table.c.custom).where(holds)).all()
        befores = {row.id: ((row.custom or {}).get(name) or [], row.custom or {}) for row in rows}
    else:
        quoted = sa.cast(table.c[name], sa.Text).like(f'%"{old}"%')  # the JSON text holds the code (checked exactly below)
        rows = conn.execute(sa.select(table.c.id, table.c[name]).where(quoted)).all()
        befores = {row.id: (row[1] or [], None) for row in rows if old in (row[1] or [])}
    changed: dict[int, list[Any]] = {}
    updates = []
    order = {o.code: i for i, o in enumerate(listed.ordered())}
    for id_, (before, whole) in befores.items():
        after = sorted(dict.fromkeys(new if code == old else code for code in before), key=lambda c: order.get(c, len(order)))
        changed[id_] = [list(before), after]
        updates.append({"b_id": id_, "b_value": {**whole, name: after} if custom else after})
    if updates:
        column = "custom" if custom else name
        conn.execute(sa.update(table).where(table.c.id == sa.bindparam("b_id")).values({column: sa.bindparam("b_value"), "updated_at": now}), updates)
    return changed


# -- from free text (plugin migrations) ----------------------------------------------------------


def _new_code(text: str, taken: set[str]) -> str:
    """A code for a free-text value: its ASCII letters and digits (``"Cold call"`` → ``cold_call``),
    else ``x`` and a digest (``"华东"`` → ``x3f2a9c1d``); never one of ``taken``."""
    import hashlib

    slug = re.sub(r"[^a-z0-9]+", "_", normal(text)).strip("_")[:32]
    if not slug or not slug.isascii() or not slug[0].isalnum():
        slug = "x" + hashlib.sha1(normal(text).encode()).hexdigest()[:8]
    code, n = slug, 2
    while code in taken:
        code, n = f"{slug}_{n}", n + 1
    return code


def convert_free_text(conn: sa.Connection, table: str, column: str, listed: OptionList, *, now: Any) -> dict[str, str]:
    """Turn a column of free text into codes of ``listed`` (for a plugin migration, run once).

    A value that is an option's code or label (case and spaces ignored) becomes that option's code;
    the other values become new options — one per distinct text, labelled with it in both languages,
    flagged ``review`` so that an admin merges or keeps them at ``/admin/option-lists``. Records are
    rewritten in one ``UPDATE … CASE`` statement. Returns ``{text: code}`` for every text changed.
    """
    stored = {row.code: row for row in conn.execute(sa.select(OPTIONS).where(OPTIONS.c.list_name == listed.name))}
    options = [*(Option(r.code, r.label, r.colour, r.parent, r.archived, r.position, r.review, r.merged_into) for r in stored.values()),
               *(o for o in listed.options if o.code not in stored)]
    current = dataclasses.replace(listed, options=tuple(options))
    target = sa.table(table, sa.column(column, sa.String))
    texts = [t for t in conn.scalars(sa.select(target.c[column]).where(target.c[column].is_not(None)).distinct()) if isinstance(t, str)]
    mapping: dict[str, str] = {}
    made: dict[str, str] = {}  # normalized text -> new code
    taken = {o.code for o in options}
    position = max((o.position for o in options), default=-1) + 1
    for text in sorted(texts):
        if not text.strip():
            mapping[text] = ""
            continue
        found = current.resolve(text)
        if found is not None:
            code = found.code
        elif normal(text) in made:
            code = made[normal(text)]
        else:
            code = made[normal(text)] = _new_code(text, taken)
            taken.add(code)
            label = " ".join(text.split())[:120]
            conn.execute(sa.insert(OPTIONS).values(
                list_name=listed.name, code=code, label={"en": label, "zh_CN": label}, position=position,
                colour=None, parent=None, archived=False, review=True, merged_into=None, updated_at=now,
            ))
            position += 1
        if code != text:
            mapping[text] = code
    if mapping:
        cases = sa.case({text: (sa.null() if code == "" else sa.literal(code)) for text, code in mapping.items()}, value=target.c[column])
        conn.execute(sa.update(target).where(target.c[column].in_(list(mapping))).values({column: cases}))
    return mapping
