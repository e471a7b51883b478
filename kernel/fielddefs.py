"""Stored custom-field definitions: add, change, remove, purge.

Each change is one transaction that writes the definition, an audit entry and
a registry bump (so every process sees it within seconds). Index DDL runs
after that commit: ``CREATE INDEX CONCURRENTLY`` on PostgreSQL cannot run
inside a transaction, and must not lock the table while it builds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from . import audit, search
from .customfields import CustomField, check_definition, contains_expression, create_index_sql, drop_index_sql, field_expression, purge_sql
from .errors import Conflict, NotFound, ValidationError
from .models import CustomFieldDef

if TYPE_CHECKING:
    from .entities import Entity
    from .records import Actor
    from .site import Site

DEFS = CustomFieldDef.__table__


def _entity(site: Site, name: str) -> Entity:
    entity = site.view.entities.get(name)
    if entity is None:
        raise NotFound(f"no enabled entity named {name!r}", [{"loc": ["entity"], "msg": "unknown or disabled entity"}])
    return entity


def _label(label: Any, name: str) -> dict[str, str]:
    if label is None:
        return {"en": name.replace("_", " ").capitalize()}
    if isinstance(label, str):
        return {"en": label, "zh_CN": label}
    if not isinstance(label, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in label.items()):
        raise ValidationError.at(["label"], 'must be text or an object like {"en": "...", "zh_CN": "..."}')
    return dict(label)


def list_fields(site: Site, entity_name: str, *, include_removed: bool = False) -> list[dict[str, Any]]:
    _entity(site, entity_name)
    query = sa.select(DEFS).where(DEFS.c.entity == entity_name).order_by(DEFS.c.id)
    if not include_removed:
        query = query.where(DEFS.c.active.is_(True))
    with site.engine.connect() as conn:
        rows = conn.execute(query).all()
    return [
        {**CustomField(r.entity, r.name, r.schema, r.label, r.indexed, r.version).as_public(), "active": r.active, "version": r.version}
        for r in rows
    ]


def add_field(
    site: Site, actor: Actor, entity_name: str, name: Any, schema: Any, *, label: Any = None, indexed: bool = False
) -> dict[str, Any]:
    """Define a new custom field; with ``indexed`` its index is built before this returns."""
    entity = _entity(site, entity_name)
    kind = check_definition(name, schema)
    if kind == "option" and schema["x-options"] not in site.view.option_lists:
        raise ValidationError.at(["schema", "x-options"], f"no option list named {schema['x-options']!r}")
    listed = schema["items"].get("x-options") if kind == "multi_enum" else None
    if listed is not None and listed not in site.view.option_lists:
        raise ValidationError.at(["schema", "items", "x-options"], f"no option list named {listed!r}")
    if kind == "money" and "x-currency" not in schema:  # named once, so a later default_currency never re-denominates it
        schema = {**schema, "x-currency": site.settings.default_currency}
    if name in {c.name for c in entity.table.columns} or name in entity.fields.model_fields:
        raise Conflict(f"{entity.name} already has a built-in field {name!r}", [{"loc": ["name"], "msg": "clashes with a built-in field"}])
    if indexed and kind == "multi_enum":
        raise ValidationError.at(["indexed"], "a multi-select field cannot be indexed")
    labels = _label(label, name)
    now = site.clock.now()
    with site.write() as conn:
        existing = conn.execute(sa.select(DEFS).where(DEFS.c.entity == entity.name, DEFS.c.name == name)).first()
        if existing is not None:
            reason = "already exists" if existing.active else "was removed but its values are kept; purge it first or pick another name"
            raise Conflict(f"custom field {entity.name}.{name} {reason}", [{"loc": ["name"], "msg": reason}])
        field_id = conn.execute(
            sa.insert(DEFS)
            .values(entity=entity.name, name=name, schema=schema, label=labels, indexed=indexed, active=True, version=1, created_at=now, updated_at=now)
            .returning(DEFS.c.id)
        ).scalar_one()
        audit.write(conn, [audit.entry(actor, now, "custom_fields", field_id, "create", {"entity": [None, entity.name], "name": [None, name], "schema": [None, schema], "indexed": [None, indexed]})])
        site.bump(conn)
    field_ = CustomField(entity.name, name, schema, labels, indexed)
    if indexed:
        _create_index(site, entity, field_)
    site.refresh(force=True)
    return field_.as_public()


def set_indexed(site: Site, actor: Actor, entity_name: str, name: str, indexed: bool) -> dict[str, Any]:
    """Promote a field to a real index (or drop it)."""
    entity = _entity(site, entity_name)
    field_ = _change(site, actor, entity, name, indexed=indexed)
    if field_.kind == "multi_enum" and indexed:
        raise ValidationError.at(["indexed"], "a multi-select field cannot be indexed")
    if indexed:
        _create_index(site, entity, field_)
    else:
        _run_ddl(site, drop_index_sql(entity.table.name, name, site.engine.dialect.name))
    return field_.as_public()


def set_label(site: Site, actor: Actor, entity_name: str, name: str, label: Any) -> dict[str, Any]:
    return update_field(site, actor, entity_name, name, label=label)


def update_field(
    site: Site, actor: Actor, entity_name: str, name: str, *, label: Any = None, description: Any = None, options: Any = None
) -> dict[str, Any]:
    """Change a field's labels, its description (``""`` drops it) or its choices; ``None`` keeps each.

    ``options`` is the complete new list of a choice or multi-choice field. An
    option may be added at any time; one that stored values still use cannot be
    taken away (:class:`Conflict` naming it and how many records use it). One
    transaction writes the definition (new version), its audit entry and a registry bump.
    """
    entity = _entity(site, entity_name)
    labels = _label(label, name) if label is not None else None
    if description is not None and not isinstance(description, str):
        raise ValidationError.at(["description"], "must be text")
    if options is not None and (not isinstance(options, list) or not all(isinstance(o, str) for o in options)):
        raise ValidationError.at(["options"], "must be a list of texts")
    now = site.clock.now()
    with site.write() as conn:
        row = conn.execute(sa.select(DEFS).where(DEFS.c.entity == entity.name, DEFS.c.name == name, DEFS.c.active.is_(True))).first()
        if row is None:
            raise NotFound(f"{entity.name} has no custom field {name!r}")
        field_ = CustomField(entity.name, name, row.schema, row.label, row.indexed, row.version)
        schema = _changed_schema(field_, description, options)
        check_definition(name, schema)
        if options is not None:
            _check_options_unused(conn, site, entity, field_, options)
        values = {"schema": schema, "label": labels if labels is not None else row.label}
        changes = {k: [getattr(row, k), v] for k, v in values.items() if getattr(row, k) != v}
        if changes:
            conn.execute(sa.update(DEFS).where(DEFS.c.id == row.id).values(**values, version=row.version + 1, updated_at=now))
            audit.write(conn, [audit.entry(actor, now, "custom_fields", row.id, "update", changes)])
            site.bump(conn)
    if changes:
        site.refresh(force=True)
    version = row.version + 1 if changes else row.version
    return CustomField(entity.name, name, values["schema"], values["label"], row.indexed, version).as_public()


def _changed_schema(field_: CustomField, description: str | None, options: list[str] | None) -> dict[str, Any]:
    schema = dict(field_.schema)
    if description is not None:
        if description.strip():
            schema["description"] = description.strip()
        else:
            schema.pop("description", None)
    if options is not None:
        cleaned = list(dict.fromkeys(o.strip() for o in options if o.strip()))
        if field_.kind == "enum":
            schema["enum"] = cleaned
        elif field_.kind == "multi_enum" and "x-options" not in schema["items"]:
            schema["items"] = {**schema["items"], "enum": cleaned}
        else:
            raise ValidationError.at(["options"], f"only a choice field has options; {field_.name} is a {field_.kind} field")
    return schema


def _check_options_unused(conn: sa.Connection, site: Site, entity: Entity, field_: CustomField, options: list[str]) -> None:
    """Refuse to take away an option that stored records still hold."""
    old = field_.schema["enum"] if field_.kind == "enum" else field_.schema["items"]["enum"]
    kept = {o.strip() for o in options}
    dialect = site.engine.dialect.name
    for option in (o for o in old if o not in kept):
        if field_.kind == "enum":
            used = field_expression(field_, dialect) == option
        else:
            used = contains_expression(field_, dialect, option)
        count = conn.scalar(sa.select(sa.func.count()).select_from(entity.table).where(used)) or 0
        if count:
            raise Conflict(
                f"options: {option!r} is used by {count} {entity.name} record(s); change those records first, or keep the option",
                [{"loc": ["options"], "msg": f"{option!r} is used by {count} record(s)"}],
            )


def _change(site: Site, actor: Actor, entity: Entity, name: str, **values: Any) -> CustomField:
    now = site.clock.now()
    with site.write() as conn:
        row = conn.execute(sa.select(DEFS).where(DEFS.c.entity == entity.name, DEFS.c.name == name, DEFS.c.active.is_(True))).first()
        if row is None:
            raise NotFound(f"{entity.name} has no custom field {name!r}")
        if values.get("indexed") and CustomField(entity.name, name, row.schema).kind == "multi_enum":
            raise ValidationError.at(["indexed"], "a multi-select field cannot be indexed")
        changes = {k: [getattr(row, k), v] for k, v in values.items() if getattr(row, k) != v}
        conn.execute(sa.update(DEFS).where(DEFS.c.id == row.id).values(**values, version=row.version + 1, updated_at=now))
        audit.write(conn, [audit.entry(actor, now, "custom_fields", row.id, "update", changes)])
        site.bump(conn)
    site.refresh(force=True)
    merged = {"label": row.label, "indexed": row.indexed, **values}
    return CustomField(entity.name, name, row.schema, merged["label"], merged["indexed"], row.version + 1)


def remove_field(site: Site, actor: Actor, entity_name: str, name: str, *, purge: bool = False) -> None:
    """Hide a field (values kept); with ``purge``, also delete its values and its definition."""
    entity = _entity(site, entity_name)
    dialect = site.engine.dialect.name
    now = site.clock.now()
    with site.write() as conn:
        row = conn.execute(sa.select(DEFS).where(DEFS.c.entity == entity.name, DEFS.c.name == name)).first()
        if row is None or (not row.active and not purge):
            raise NotFound(f"{entity.name} has no custom field {name!r}")
        if purge:
            conn.execute(purge_sql(entity.table, name, dialect))
            conn.execute(sa.delete(DEFS).where(DEFS.c.id == row.id))
        else:
            conn.execute(sa.update(DEFS).where(DEFS.c.id == row.id).values(active=False, indexed=False, version=row.version + 1, updated_at=now))
        audit.write(conn, [audit.entry(actor, now, "custom_fields", row.id, "purge" if purge else "delete", {"entity": [entity.name, None], "name": [name, None]})])
        if row.active and search.is_text_field(CustomField(entity.name, name, row.schema)):
            search.reindex_entity(conn, entity, search.without_field(site.view.fields(entity.name), name))
        site.bump(conn)
    _run_ddl(site, drop_index_sql(entity.table.name, name, dialect))
    site.refresh(force=True)


def _create_index(site: Site, entity: Entity, field_: CustomField) -> None:
    _run_ddl(site, create_index_sql(entity.table.name, field_, site.engine.dialect.name))


def _run_ddl(site: Site, sql: str) -> None:
    with site.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text(sql))
