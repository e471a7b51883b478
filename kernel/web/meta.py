"""``/api/v1/meta``: what the site offers (entities, fields, actions) and its admin switches.

Anyone signed in may read entity metadata; custom-field and plugin admin need
:func:`require_admin`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .. import fielddefs, layouts, ownership, pluginstate, sequences, systemsettings
from ..errors import Conflict, Forbidden, NotFound, PluginError, ValidationError
from ..records import Actor
from .api import actor_of, site_of
from .meta_forms import form_routes
from .meta_options import option_list_routes
from .payload import JSON, query_values, read_json

if TYPE_CHECKING:
    from ..entities import Entity
    from ..site import View

FIELD_KEYS = ("name", "schema", "label", "indexed")
FIELD_CHANGES = ("label", "description", "options", "indexed")


def require_admin(actor: Actor) -> None:
    """Refuse anyone but an admin (403). The one place admin endpoints check who may call them."""
    if actor.role != "admin":
        raise Forbidden("only an admin may do this", [{"loc": ["role"], "msg": f"role {actor.role!r} is not admin"}])


def describe_entity(view: View, entity: Entity) -> dict[str, Any]:
    fields = view.fields(entity.name)
    return {
        "name": entity.name,
        "label": entity.label,
        "label_plural": entity.label_plural,
        "plugin": entity.plugin,
        "searchable": list(entity.searchable),
        "numbered": {column: sequence.name for column, sequence in entity.numbered.items()},  # read-only, filled on create
        "states": None if entity.states is None else {"field": entity.states.field, "set_by": entity.states.set_by, "editable": entity.states.editable},
        "children": [  # rows written with the record: kernel.children
            {"name": k.name, "entity": k.entity, "parent_field": k.parent_field, "totals": dict(k.totals), "max_rows": k.max_rows}
            for k in entity.children
        ],
        "fields": entity.json_schema(),
        "custom_fields": [f.as_public() for f in fields.fields.values()],
        "custom_schema": fields.json_schema,
        "actions": [
            {
                "name": action.name,
                "label": action.label,
                "body": action.body.model_json_schema() if action.body is not None else None,
                "confirm": action.confirm,
            }
            for action in entity.actions
        ]
        + ([ownership.describe_action()] if entity.owner_field is not None and entity.action(ownership.ACTION) is None else []),
    }


def _entity(view: View, name: str) -> Entity:
    entity = view.entity(name)
    if entity is None:
        raise NotFound(f"no enabled entity named {name!r}", [{"loc": ["path", "entity"], "msg": "unknown or disabled entity"}])
    return entity


def _object(body: Any, allowed: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ValidationError.at(["body"], "must be a JSON object")
    unknown = [key for key in body if key not in allowed]
    if unknown:
        details = [{"loc": ["body", key], "msg": "unknown field"} for key in unknown]
        raise ValidationError(f"body.{unknown[0]}: unknown field (allowed: {', '.join(allowed)})", details)
    return body


def _flag(value: Any, loc: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationError.at(["body", loc], "must be true or false")
    return value


async def list_entities(request: Request) -> Response:
    actor_of(request)
    view = site_of(request).view
    return JSON({"items": [describe_entity(view, entity) for entity in view.entities.values()]})


async def get_entity(request: Request) -> Response:
    actor_of(request)
    view = site_of(request).view
    return JSON(describe_entity(view, _entity(view, request.path_params["entity"])))


async def fields(request: Request) -> Response:
    site = site_of(request)
    actor = actor_of(request)
    require_admin(actor)
    entity = request.path_params["entity"]
    if request.method == "POST":
        body = _object(await read_json(request), FIELD_KEYS)
        if "name" not in body or "schema" not in body:
            raise ValidationError.at(["body", "name" if "name" not in body else "schema"], "is required")
        indexed = _flag(body.get("indexed", False), "indexed")
        created = fielddefs.add_field(site, actor, entity, body["name"], body["schema"], label=body.get("label"), indexed=indexed)
        return JSON(created, status_code=201)
    flag = query_values(request).get("include_removed", "false")
    if flag not in ("true", "false"):
        raise ValidationError.at(["query", "include_removed"], "must be true or false")
    return JSON({"items": fielddefs.list_fields(site, entity, include_removed=flag == "true")})


async def field(request: Request) -> Response:
    site = site_of(request)
    actor = actor_of(request)
    require_admin(actor)
    entity, name = request.path_params["entity"], request.path_params["name"]
    if request.method == "DELETE":
        purge = query_values(request).get("purge", "false")
        if purge not in ("true", "false"):
            raise ValidationError.at(["query", "purge"], "must be true or false")
        fielddefs.remove_field(site, actor, entity, name, purge=purge == "true")
        return Response(status_code=204)
    body = _object(await read_json(request), FIELD_CHANGES)
    if not body:
        raise ValidationError.at(["body"], "send at least one of " + ", ".join(FIELD_CHANGES))
    indexed = _flag(body["indexed"], "indexed") if "indexed" in body else None
    changed: dict[str, Any] = {}
    if any(key in body for key in ("label", "description", "options")):
        changed = fielddefs.update_field(
            site, actor, entity, name, label=body.get("label"), description=body.get("description"), options=body.get("options")
        )
    if indexed is not None:
        changed = fielddefs.set_indexed(site, actor, entity, name, indexed)
    return JSON(changed)


async def list_plugins(request: Request) -> Response:
    require_admin(actor_of(request))
    return JSON({"items": pluginstate.describe_plugins(site_of(request))})


async def enable_plugin(request: Request) -> Response:
    return await _switch(request, pluginstate.enable_plugin)


async def disable_plugin(request: Request) -> Response:
    return await _switch(request, pluginstate.disable_plugin)


async def _switch(request: Request, change: Any) -> Response:
    site = site_of(request)
    actor = actor_of(request)
    require_admin(actor)
    name = request.path_params["name"]
    if name not in site.installed:
        raise NotFound(f"no plugin named {name!r} is installed", [{"loc": ["path", "name"], "msg": "unknown plugin"}])
    try:
        change(site, actor, name)
    except PluginError as exc:
        raise Conflict(str(exc), [{"loc": ["path", "name"], "msg": str(exc)}]) from None
    return JSON(next(p for p in pluginstate.describe_plugins(site) if p["name"] == name))


async def list_settings(request: Request) -> Response:
    site = site_of(request)
    require_admin(actor_of(request))
    return JSON({"items": systemsettings.describe(site), "read_only": systemsettings.read_only(site)})


async def change_settings(request: Request) -> Response:
    """``PUT /meta/settings/{scope}`` with ``{"name": value, ...}``; ``null`` goes back to the file's value."""
    site = site_of(request)
    actor = actor_of(request)
    require_admin(actor)
    body = await read_json(request)
    return JSON(systemsettings.change(site, actor, request.path_params["scope"], body)[0])


async def reset_setting(request: Request) -> Response:
    site = site_of(request)
    actor = actor_of(request)
    require_admin(actor)
    return JSON(systemsettings.reset(site, actor, request.path_params["scope"], request.path_params["name"])[0])


async def list_sequences(request: Request) -> Response:
    require_admin(actor_of(request))
    return JSON({"items": sequences.describe(site_of(request))})


async def change_sequence(request: Request) -> Response:
    """``PATCH /meta/sequences/{name}`` with any of ``prefix``, ``padding``, ``reset``, ``time_zone``, ``next``."""
    site = site_of(request)
    actor = actor_of(request)
    require_admin(actor)
    body = await read_json(request)
    return JSON(sequences.change(site, actor, request.path_params["name"], body))


async def list_dashboards(request: Request) -> Response:
    """``GET /meta/dashboards``: every widget of the enabled plugins, and each role's layout (``null``: the plugins' choice)."""
    site = site_of(request)
    require_admin(actor_of(request))
    roles = [r["name"] for r in site.records.list(actor_of(request), "roles", sort="name", limit=500).items]
    widgets = [{"name": w.name, "label": w.label, "kind": w.kind, "roles": list(w.roles), "permission": w.permission}
               for w in layouts.registered_widgets(site).values()]
    return JSON({"widgets": widgets, "layouts": {role: layouts.layout_of(site, role) for role in roles}})


async def dashboard_layout(request: Request) -> Response:
    """``PUT /meta/dashboards/{role}`` ``{"widgets": [names in order]}``; ``DELETE``: back to the plugins' choice."""
    site = site_of(request)
    actor = actor_of(request)
    require_admin(actor)
    role = request.path_params["role"]
    if request.method == "DELETE":
        layouts.reset(site, actor, role)
        return Response(status_code=204)
    body = _object(await read_json(request), ("widgets",))
    return JSON({"role": role, "widgets": layouts.save(site, actor, role, body.get("widgets"))})


def meta_routes() -> list[BaseRoute]:
    """Routes mounted under ``/api/v1/meta``."""
    return [
        Route("/entities", list_entities, methods=["GET"], name="entities"),
        Route("/entities/{entity}", get_entity, methods=["GET"], name="entity"),
        Route("/entities/{entity}/fields", fields, methods=["GET", "POST"], name="fields"),
        Route("/entities/{entity}/fields/{name}", field, methods=["PATCH", "DELETE"], name="field"),
        Route("/plugins", list_plugins, methods=["GET"], name="plugins"),
        Route("/plugins/{name}/enable", enable_plugin, methods=["POST"], name="plugin_enable"),
        Route("/plugins/{name}/disable", disable_plugin, methods=["POST"], name="plugin_disable"),
        Route("/settings", list_settings, methods=["GET"], name="settings"),
        Route("/settings/{scope}", change_settings, methods=["PUT"], name="settings_scope"),
        Route("/settings/{scope}/{name}", reset_setting, methods=["DELETE"], name="setting"),
        Route("/sequences", list_sequences, methods=["GET"], name="sequences"),
        Route("/sequences/{name}", change_sequence, methods=["PATCH"], name="sequence"),
        Route("/dashboards", list_dashboards, methods=["GET"], name="dashboards"),
        Route("/dashboards/{role}", dashboard_layout, methods=["PUT", "DELETE"], name="dashboard_layout"),
        *form_routes(),
        *option_list_routes(),
    ]
