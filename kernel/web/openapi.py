"""The OpenAPI 3.1 document, built from the site's current view, and the docs page.

Each entity contributes its list/create/get/patch/delete/history/activity paths and one
path per action; its schemas hold the custom fields as they are right now. The
document is rebuilt when the view's version changes. ``/api/docs`` renders it with
the Swagger UI files shipped in ``static/swagger`` (no CDN, no validator badge).
"""

from __future__ import annotations

import html
import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from .. import activity, search
from ..aggregates import BUCKETS, FUNCTIONS
from ..aggregates import DEFAULT_LIMIT as AGGREGATE_LIMIT
from ..aggregates import MAX_LIMIT as AGGREGATE_MAX
from ..errors import Unauthorized
from ..ownership import ACTION as ASSIGN, AssignBody
from ..parsing import DECIMAL_DIGITS, FIRST_DATE, INT64_MAX, INT64_MIN, LAST_DATE
from ..records import DEFAULT_LIMIT, MAX_LIMIT
from ..settings import LOCALES
from .api import CONTROL_PARAMS, ON_DUPLICATE, site_of
from .auth import authenticate
from .meta_options import option_list_paths
from .payload import JSON
from .plugin_mount import routes_by_plugin

if TYPE_CHECKING:
    from ..children import Children
    from ..entities import Entity
    from ..site import View

HERE = Path(__file__).parent
API = "/api/v1"
ORDERED = {"integer", "number", "date", "date-time"}

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string", "examples": ["validation_error", "not_found", "forbidden", "conflict", "unauthorized", "rate_limited"]},
                "message": {"type": "string"},
                "details": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["loc", "msg"],
                        "properties": {"loc": {"type": "array", "items": {"type": ["string", "integer"]}}, "msg": {"type": "string"}},
                    },
                },
            },
        }
    },
}
ERRORS = {
    "400": "The request cannot be read: malformed JSON, or a body that is not JSON",
    "401": "No valid API token",
    "403": "Not allowed",
    "404": "No such route, entity, record or action (or one the caller may not see)",
    "409": "Clashes with stored data",
    "422": "A value is wrong; each detail names its location",
    "429": "Too many attempts",
}


LABELS = {"type": "object", "properties": {"en": {"type": "string"}, "zh_CN": {"type": "string"}}}
PUBLIC_FORM = {
    "type": "object",
    "properties": {
        "slug": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,59}$"},
        "entity": {"type": "string"},
        "title": LABELS,
        "fields": {"type": "array", "items": {"type": "object", "properties": {
            "name": {"type": "string"}, "label": LABELS, "required": {"type": "boolean"}}, "required": ["name"]}},
        "consent": {"anyOf": [LABELS, {"type": "null"}]},
        "thank_you": LABELS,
        "redirect_url": {"type": ["string", "null"]},
        "per_hour": {"type": "integer", "minimum": 1, "maximum": 10000},
        "active": {"type": "boolean"},
    },
}


def form_paths() -> dict[str, Any]:
    """``/meta/forms`` (admins build public forms) and the JSON post of ``/public/forms/{slug}``."""
    stored = {**PUBLIC_FORM, "properties": {**PUBLIC_FORM["properties"], "id": {"type": "integer"}, "url": {"type": "string"}, "embed": {"type": "string"}}}
    form_id = _path_param("id", {"type": "integer", "minimum": 1})
    items = {"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": stored}}}
    return {
        f"{API}/meta/forms": {
            "get": {"summary": "Public forms (admin)", "responses": _responses({"200": _json(items, "Forms")}, 403)},
            "post": {"summary": "Create a public form for an entity (admin)", "requestBody": _body(PUBLIC_FORM),
                     "responses": _responses({"201": _json(stored, "The form")}, 403, 409)},
        },
        f"{API}/meta/forms/{{id}}": {
            "parameters": [form_id],
            "get": {"summary": "One public form (admin)", "responses": _responses({"200": _json(stored, "The form")}, 403, 404)},
            "patch": {"summary": "Change a public form (admin)", "requestBody": _body(PUBLIC_FORM),
                      "responses": _responses({"200": _json(stored, "The form")}, 403, 404, 409)},
            "delete": {"summary": "Delete a public form (admin)", "responses": _responses({"204": {"description": "Deleted"}}, 403, 404)},
        },
        "/public/forms/{slug}": {
            "parameters": [_path_param("slug", {"type": "string"})],
            "post": {
                "summary": "Send a public form without signing in (fields by name, consent, lang); Origin must be the site or one of public_origins",
                "security": [],
                "requestBody": _body({"type": "object", "additionalProperties": True}),
                "responses": _responses({"201": _json({"type": "object", "properties": {
                    "ok": {"type": "boolean"}, "message": {"type": "string"}, "redirect_url": {"type": ["string", "null"]}}}, "Received")},
                    403, 404, 429),
            },
        },
    }


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _responses(ok: dict[str, Any], *errors: int) -> dict[str, Any]:
    return {**ok, **{str(code): {"$ref": f"#/components/responses/E{code}"} for code in (400, 401, 404, 422, *errors)}}


def _body(schema: dict[str, Any], *, required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


def _path_param(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema}


IF_MATCH = {
    "name": "If-Match", "in": "header", "required": False, "schema": {"type": "string"},
    "description": "the ETag of the version you changed (from GET); '*' for any",
}
IF_MATCH_NOTE = (
    "With If-Match, a record changed since that version is not written: 409, with the current "
    "record in `record` and its version in the ETag header."
)


def _query(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    param = {"name": name, "in": "query", "required": False, "schema": schema}
    return {**param, "description": description} if description else param


class Builder:
    """Collects the components while the paths are written."""

    def __init__(self, view: View):
        self.view = view
        self.schemas: dict[str, Any] = {"Error": ERROR}
        self.paths: dict[str, Any] = {}

    def model(self, prefix: str, model: type[BaseModel]) -> dict[str, Any]:
        """A pydantic model's schema, its ``$defs`` moved into the components under ``prefix``."""
        template = f"#/components/schemas/{prefix}.{{model}}"
        schema = model.model_json_schema(ref_template=template)
        for name, sub in schema.pop("$defs", {}).items():
            self.schemas[f"{prefix}.{name}"] = sub
        return schema

    def build(self) -> dict[str, Any]:
        self.kernel_paths()
        self.task_paths()
        for entity in self.view.entities.values():
            self.entity_paths(entity)
        self.plugin_paths()
        responses = {f"E{code}": _json(_ref("Error"), text) for code, text in ERRORS.items()}
        return {
            "openapi": "3.1.0",
            "info": {"title": "PlugCRM API", "version": f"1.{self.view.version}", "description": "Plugins: " + ", ".join(self.view.enabled)},
            "paths": self.paths,
            "components": {"schemas": self.schemas, "responses": responses, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
            "security": [{"bearer": []}],
        }

    # -- the kernel's own routes ----------------------------------------------------

    def kernel_paths(self) -> None:
        entity_names = {"type": "string", "enum": sorted(self.view.entities)}
        plugin_names = {"type": "string"}
        token_body = {
            "type": "object",
            "required": ["email", "password"],
            "properties": {
                "email": {"type": "string", "maxLength": 254},
                "password": {"type": "string", "maxLength": 256},
                "name": {"type": "string", "maxLength": 120},
            },
        }
        token = {
            "type": "object",
            "required": ["id", "token", "expires_at"],
            "properties": {"id": {"type": "integer"}, "token": {"type": "string"}, "expires_at": {"type": ["string", "null"], "format": "date-time"}},
        }
        field_def = {
            "type": "object",
            "required": ["name", "schema", "label", "indexed", "kind"],
            "properties": {
                "name": {"type": "string"},
                "schema": {"type": "object"},
                "label": {"type": "object", "additionalProperties": {"type": "string"}},
                "indexed": {"type": "boolean"},
                "kind": {"type": "string"},
                "active": {"type": "boolean"},
                "version": {"type": "integer"},
            },
        }
        label = {"anyOf": [{"type": "string"}, {"type": "object", "additionalProperties": {"type": "string"}}]}
        new_field = {
            "type": "object",
            "required": ["name", "schema"],
            "additionalProperties": False,
            "properties": {"name": {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,39}$"}, "schema": {"type": "object"}, "label": label, "indexed": {"type": "boolean"}},
        }
        field_change = {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": False,
            "properties": {
                "label": label,
                "description": {"type": "string", "maxLength": 500, "description": "shown under the input; an empty text removes it"},
                "options": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "a choice field's complete list of options; an option stored records use cannot be removed (409)",
                },
                "indexed": {"type": "boolean"},
            },
        }
        setting = {
            "type": "object",
            "required": ["name", "schema", "value", "file_value", "source", "changed_at", "changed_by"],
            "properties": {
                "name": {"type": "string"},
                "schema": {"type": "object", "description": "the setting's JSON Schema"},
                "value": {"description": "the effective value"},
                "file_value": {"description": "the value from crm.toml, or the default"},
                "source": {"type": "string", "enum": ["default", "file", "override"]},
                "changed_at": {"type": ["string", "null"], "format": "date-time"},
                "changed_by": {"type": ["string", "null"], "description": "the email of the admin who changed it"},
            },
        }
        settings_scope = {
            "type": "object",
            "required": ["scope", "settings"],
            "properties": {"scope": {"type": "string", "description": "crm, or a plugin's name"}, "settings": {"type": "array", "items": _ref("Setting")}},
        }
        plugin = {
            "type": "object",
            "required": ["name", "enabled", "essential", "requires", "description"],
            "properties": {
                "name": {"type": "string"},
                "enabled": {"type": "boolean"},
                "essential": {"type": "boolean"},
                "requires": {"type": "array", "items": {"type": "string"}},
                "description": {"type": "string", "description": "in English, plain text"},
                "label": LABELS,
                "descriptions": LABELS,
            },
        }
        sequence = {
            "type": "object",
            "required": ["name", "entities", "prefix", "padding", "reset", "time_zone", "changed", "period", "next", "last_used", "next_number"],
            "properties": {
                "name": {"type": "string"},
                "entities": {"type": "array", "items": {"type": "string"}, "description": "the entities numbered from it"},
                "prefix": {"type": "string", "description": "may hold {year} and {month}"},
                "padding": {"type": "integer"},
                "reset": {"type": "string", "enum": ["yearly", "monthly", "never"]},
                "time_zone": {"type": "string"},
                "changed": {"type": "boolean", "description": "an admin's settings differ from the declaration"},
                "period": {"type": "string", "description": "the current period: 2026, 2026-03, or empty when it never resets"},
                "next": {"type": "integer"},
                "last_used": {"type": ["integer", "null"], "description": "the last number handed out in this period"},
                "next_number": {"type": "string", "description": "the next number as it will be written"},
            },
        }
        sequence_change = {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": False,
            "properties": {
                "prefix": {"type": "string", "maxLength": 40},
                "padding": {"type": "integer", "minimum": 1, "maximum": 12},
                "reset": {"type": "string", "enum": ["yearly", "monthly", "never"]},
                "time_zone": {"type": "string", "maxLength": 64},
                "next": {"type": "integer", "minimum": 1, "maximum": 10**15, "description": "not at or below a number already handed out"},
            },
        }
        meta = {"type": "object", "required": ["name", "label", "label_plural", "plugin", "fields", "custom_fields", "actions"]}
        self.schemas.update(
            EntityMeta=meta, FieldDefinition=field_def, Plugin=plugin, Setting=setting, SettingsScope=settings_scope, Sequence=sequence
        )
        items = lambda schema: {"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": schema}}}  # noqa: E731
        entity_param = _path_param("entity", entity_names)
        field_param = _path_param("name", {"type": "string"})
        flag = {"type": "string", "enum": ["true", "false"]}
        preference_schema = {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "locale": {"type": ["string", "null"], "enum": [*LOCALES, None]},
                "time_zone": {"type": ["string", "null"], "description": "an IANA zone such as Asia/Shanghai; dates, buckets and today are counted in it"},
            },
        }
        self.paths.update(
            {
                f"{API}/openapi.json": {"get": {"summary": "This document (signed-in callers)", "responses": _responses({"200": _json({"type": "object"}, "OpenAPI 3.1")})}},
                f"{API}/auth/token": {
                    "post": {
                        "summary": "Exchange email and password for an API token",
                        "security": [],
                        "requestBody": _body(token_body),
                        "responses": _responses({"201": _json(token, "A new token (shown once)")}, 429),
                    }
                },
                f"{API}/auth/preferences": {
                    "get": {"summary": "The caller's preferences (null: the site's default)", "responses": _responses({"200": _json(preference_schema, "Preferences")})},
                    "put": {
                        "summary": "Change some of the caller's preferences",
                        "requestBody": _body(
                            {
                                "type": "object",
                                "additionalProperties": False,
                                "minProperties": 1,
                                "properties": {"locale": {"type": "string", "enum": list(LOCALES)}, "time_zone": {"type": "string", "description": "an IANA zone name"}},
                            }
                        ),
                        "responses": _responses({"200": _json(preference_schema, "Preferences")}),
                    },
                },
                f"{API}/meta/entities": {"get": {"summary": "Every enabled entity", "responses": _responses({"200": _json(items(_ref("EntityMeta")), "Entities")})}},
                f"{API}/meta/entities/{{entity}}": {
                    "parameters": [entity_param],
                    "get": {"summary": "One entity's fields and actions", "responses": _responses({"200": _json(_ref("EntityMeta"), "The entity")})},
                },
                f"{API}/meta/entities/{{entity}}/fields": {
                    "parameters": [entity_param],
                    "get": {
                        "summary": "Custom fields (admin)",
                        "parameters": [_query("include_removed", flag)],
                        "responses": _responses({"200": _json(items(_ref("FieldDefinition")), "Custom fields")}, 403),
                    },
                    "post": {
                        "summary": "Add a custom field (admin)",
                        "requestBody": _body(new_field),
                        "responses": _responses({"201": _json(_ref("FieldDefinition"), "The new field")}, 403, 409),
                    },
                },
                f"{API}/meta/entities/{{entity}}/fields/{{name}}": {
                    "parameters": [entity_param, field_param],
                    "patch": {
                        "summary": "Change a custom field's label, description, options or index (admin)",
                        "requestBody": _body(field_change),
                        "responses": _responses({"200": _json(_ref("FieldDefinition"), "The field")}, 403, 409),
                    },
                    "delete": {
                        "summary": "Hide a custom field, or purge it and its values (admin)",
                        "parameters": [_query("purge", flag)],
                        "responses": _responses({"204": {"description": "Removed"}}, 403, 409),
                    },
                },
                f"{API}/meta/settings": {
                    "get": {
                        "summary": "Run-time settings of the kernel and each enabled plugin, and the read-only ones (admin)",
                        "responses": _responses(
                            {"200": _json({**items(_ref("SettingsScope")), "properties": {"items": {"type": "array", "items": _ref("SettingsScope")}, "read_only": {"type": "object"}}}, "Settings")},
                            403,
                        ),
                    }
                },
                f"{API}/meta/settings/{{scope}}": {
                    "parameters": [_path_param("scope", {"type": "string"})],
                    "put": {
                        "summary": "Change settings of crm or a plugin (admin); checked like crm.toml; null goes back to the file's value",
                        "requestBody": _body({"type": "object", "additionalProperties": True}),
                        "responses": _responses({"200": _json(_ref("SettingsScope"), "The scope's settings")}, 403, 404),
                    },
                },
                f"{API}/meta/settings/{{scope}}/{{name}}": {
                    "parameters": [_path_param("scope", {"type": "string"}), _path_param("name", {"type": "string"})],
                    "delete": {
                        "summary": "Drop a run-time change: back to crm.toml's value or the default (admin)",
                        "responses": _responses({"200": _json(_ref("SettingsScope"), "The scope's settings")}, 403, 404),
                    },
                },
                f"{API}/meta/sequences": {
                    "get": {"summary": "Numbering sequences of the enabled entities (admin)", "responses": _responses({"200": _json(items(_ref("Sequence")), "Sequences")}, 403)}
                },
                f"{API}/meta/sequences/{{name}}": {
                    "parameters": [_path_param("name", {"type": "string"})],
                    "patch": {
                        "summary": "Change a sequence's prefix, padding, reset, time zone or next number (admin)",
                        "requestBody": _body(sequence_change),
                        "responses": _responses({"200": _json(_ref("Sequence"), "The sequence")}, 403),
                    },
                },
                f"{API}/trash": {
                    "get": {
                        "summary": "The recycle bin: what the caller deleted (admins: everything), newest first; restore with POST /api/v1/E/{id}/restore",
                        "parameters": [_query("entity", entity_names, "only this entity's records"), *page_params()],
                        "responses": _responses({"200": _json(TRASH_PAGE, "One page of the bin")}),
                    }
                },
                **form_paths(),
                **option_list_paths(),
                f"{API}/meta/plugins": {"get": {"summary": "Installed plugins (admin)", "responses": _responses({"200": _json(items(_ref("Plugin")), "Plugins")}, 403)}},
                **{
                    f"{API}/meta/plugins/{{name}}/{verb}": {
                        "parameters": [_path_param("name", plugin_names)],
                        "post": {"summary": f"{verb.capitalize()} a plugin (admin)", "responses": _responses({"200": _json(_ref("Plugin"), "The plugin")}, 403, 409)},
                    }
                    for verb in ("enable", "disable")
                },
            }
        )

    def task_paths(self) -> None:
        """``/background-tasks`` (:mod:`kernel.web.tasks_api`)."""
        from ..tasks import STATUSES

        moment = {"type": ["string", "null"], "format": "date-time"}
        self.schemas["Task"] = {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "kind": {"type": "string"},
                "label": {"type": "object", "additionalProperties": {"type": "string"}},
                "status": {"type": "string", "enum": list(STATUSES)},
                "progress": {
                    "type": "object",
                    "properties": {
                        "done": {"type": "integer"},
                        "total": {"type": ["integer", "null"]},
                        "percent": {"type": ["integer", "null"], "minimum": 0, "maximum": 100},
                        "message": {"type": ["string", "null"]},
                    },
                },
                "cancel_requested": {"type": "boolean"},
                "attempts": {"type": "integer"},
                "max_attempts": {"type": "integer"},
                "created_by": {"type": ["integer", "null"]},
                "actor": {"type": "string"},
                "created_at": moment, "run_at": moment, "started_at": moment, "finished_at": moment,
                "result": {},
                "error": {"type": ["string", "null"]},
            },
        }
        task_page = {
            "type": "object",
            "properties": {"items": {"type": "array", "items": _ref("Task")}, "total": {"type": "integer"}, "limit": {"type": "integer"}, "offset": {"type": "integer"}},
        }
        id_param = _path_param("id", {"type": "integer", "minimum": 1})
        one = _json(_ref("Task"), "The task")
        self.paths[f"{API}/background-tasks"] = {
            "get": {
                "summary": "Background tasks: the caller's (an admin: everyone's), newest first",
                "parameters": [_query("status", {"type": "string", "enum": list(STATUSES)}), _query("kind", {"type": "string"}), *page_params()],
                "responses": _responses({"200": _json(task_page, "A page of tasks")}, 422),
            }
        }
        self.paths[f"{API}/background-tasks/{{id}}"] = {
            "parameters": [id_param],
            "get": {"summary": "One background task with its progress, result and error", "responses": _responses({"200": one}, 404)},
        }
        self.paths[f"{API}/background-tasks/{{id}}/cancel"] = {
            "parameters": [id_param],
            "post": {
                "summary": "Cancel a queued task at once, or ask a running one to stop at its next progress report",
                "responses": _responses({"200": one}, 404, 409),
            },
        }

    # -- entities -------------------------------------------------------------------

    def entity_paths(self, entity: Entity) -> None:
        name = entity.name
        fields = self.view.fields(name)
        custom = _ref(f"{name}.Custom")
        self.schemas[f"{name}.Custom"] = fields.json_schema
        create = self.model(name, entity.fields)
        create.setdefault("properties", {})["custom"] = custom
        update = self.model(name, entity.update_fields)
        update.setdefault("properties", {})["custom"] = custom
        record = record_schema(entity, custom)
        if self.view.masks.get(name):  # kernel.masking: masked values read as null, named in _masked
            record = masked_schema(record, self.view.masks[name])
        created = {**record, "properties": {**record["properties"], "warnings": {"type": "array", "items": _ref("Warning")}}}
        self.schemas["Warning"] = {
            "type": "object",
            "required": ["code", "ids", "hidden"],
            "description": "Look-alike records: ids the caller may read; hidden counts the others (never named).",
            "properties": {
                "code": {"type": "string", "enum": ["duplicate"]},
                "ids": {"type": "array", "items": {"type": "integer"}},
                "hidden": {"type": "integer", "minimum": 0},
                "records": {
                    "type": "array",
                    "description": "present when look-alikes of other entities are named",
                    "items": {"type": "object", "properties": {"entity": {"type": "string"}, "id": {"type": "integer"}}},
                },
            },
        }
        for kids in entity.children:  # rows written with the record (kernel.children)
            create["properties"][kids.name], update["properties"][kids.name], record["properties"][kids.name] = self.child_rows(kids)
        self.schemas.update({f"{name}.Create": create, f"{name}.Update": update, f"{name}.Record": record, f"{name}.Created": created})
        self.schemas[f"{name}.Page"] = {
            "type": "object",
            "required": ["items", "total", "total_exact", "limit", "offset"],
            "properties": {
                "items": {"type": "array", "items": _ref(f"{name}.Record")},
                "total": {"type": "integer", "description": "how many records match, counted up to the count cap (default 10,000)"},
                "total_exact": {"type": "boolean", "description": "false: more than `total` records match (`total` is the cap); ask `?total_exact=true` for the exact count"},
                "limit": {"type": "integer"},
                "offset": {"type": "integer"},
            },
        }
        label = entity.label_plural.get("en", name)
        id_param = _path_param("id", {"type": "integer", "minimum": 1, "maximum": INT64_MAX})
        base = f"{API}/{name}"
        self.paths[base] = {
            "get": {
                "summary": f"List {label}",
                "tags": [name],
                "parameters": self.list_params(entity),
                "responses": _responses({"200": _json(_ref(f"{name}.Page"), "One page")}, 403),
            },
            "post": {
                "summary": f"Create a {entity.label.get('en', name)}",
                "tags": [name],
                "parameters": [_query("on_duplicate", {"type": "string", "enum": list(ON_DUPLICATE)}, "refuse: answer 409 instead of creating a likely duplicate")],
                "requestBody": _body(_ref(f"{name}.Create")),
                "responses": _responses({"201": _json(_ref(f"{name}.Created"), "Created; warnings list likely duplicates")}, 403, 409),
            },
        }
        self.aggregate_path(entity)
        self.paths[f"{base}/{{id}}"] = {
            "parameters": [id_param],
            "get": {"summary": "One record; its version in the ETag header", "tags": [name], "responses": _responses({"200": _json(_ref(f"{name}.Record"), "The record")}, 403)},
            "patch": {
                "summary": "Change some fields; a custom value of null clears it",
                "description": IF_MATCH_NOTE,
                "tags": [name],
                "parameters": [IF_MATCH],
                "requestBody": _body(_ref(f"{name}.Update")),
                "responses": _responses({"200": _json(_ref(f"{name}.Record"), "The record")}, 403, 409),
            },
            "delete": {"summary": "Delete the record", "tags": [name], "responses": _responses({"204": {"description": "Deleted"}}, 403, 409)},
        }
        self.schemas["HistoryPage"] = history_schema()
        self.paths[f"{base}/{{id}}/history"] = {
            "parameters": [id_param],
            "get": {
                "summary": "Audit entries, newest first",
                "tags": [name],
                "parameters": page_params(),
                "responses": _responses({"200": _json(_ref("HistoryPage"), "Entries")}, 403),
            },
        }
        self.schemas["ActivityPage"] = activity_schema()
        self.paths[f"{base}/{{id}}/activity"] = {
            "parameters": [id_param],
            "get": {
                "summary": "The activity timeline: audit entries and what plugins add, newest first",
                "tags": [name],
                "parameters": activity_params(),
                "responses": _responses({"200": _json(_ref("ActivityPage"), "Entries")}, 403),
            },
        }
        if entity.owner_field is not None:
            self.owner_paths(entity, update, id_param)
        if entity.states is not None:
            self.state_paths(entity, id_param)
        self.paths[f"{base}/{{id}}/restore"] = {
            "parameters": [id_param],
            "post": {
                "summary": "Bring the record back from the recycle bin, with the records deleted along with it (its deleter or an admin)",
                "tags": [name],
                "responses": _responses({"200": _json(_ref(f"{name}.Record"), "The restored record")}, 403, 409),
            },
        }
        for action in entity.actions:
            body = self.model(f"{name}.{action.name}", action.body) if action.body is not None else {"type": "object"}
            self.paths[f"{base}/{{id}}/{action.name}"] = {
                "parameters": [id_param],
                "post": {
                    "summary": action.label.get("en", action.name),
                    "description": IF_MATCH_NOTE,
                    "tags": [name],
                    "parameters": [IF_MATCH],
                    "requestBody": _body(body, required=action.body is not None),
                    "responses": _responses({"200": _json({"type": "object"}, "The action's result")}, 403, 409),
                },
            }

    def child_rows(self, kids: Children) -> tuple[dict[str, Any], ...]:
        """The schemas of a record's rows: as sent on create, as sent on update, as read."""
        child = self.view.entities[kids.entity]
        custom = _ref(f"{child.name}.Custom")
        added = self.model(child.name, child.fields)
        added.setdefault("properties", {})["custom"] = custom
        changed = self.model(child.name, child.update_fields)
        changed["properties"] = {
            "id": {"type": "integer", "minimum": 1, "description": "a row of this record"},
            "_delete": {"type": "boolean", "description": "true: remove the row (send only id and _delete)"},
            **changed.get("properties", {}),
            "custom": custom,
        }
        changed["required"] = ["id"]
        read = record_schema(child, custom)
        read["properties"].pop(kids.parent_field, None)
        read["required"] = [c for c in read["required"] if c != kids.parent_field]
        listed = {"type": "array", "maxItems": kids.max_rows}
        note = "rows left out are left alone; a row with id changes it (or removes it with _delete), one without adds it"
        return (
            {**listed, "items": added},
            {**listed, "description": note, "items": {"anyOf": [changed, added]}},
            {"type": "array", "items": read},
        )

    def aggregate_path(self, entity: Entity) -> None:
        """``GET …/E/aggregate``: groups and measures under the caller's record rules (:mod:`kernel.aggregates`)."""
        kinds = filter_kinds(entity, self.view)
        names = "|".join(re.escape(k) for k in kinds if kinds[k][0] != "multi_enum")
        buckets, functions = "|".join(BUCKETS), "|".join(f for f in FUNCTIONS if f != "count")
        group = f"({names})(:({buckets}))?"
        measure = f"(count|({functions}):({names}))"
        paging = {"limit", "offset", "sort", "q", "total_exact"}
        self.schemas["Aggregate"] = {
            "type": "object",
            "required": ["groups", "truncated"],
            "properties": {
                "groups": {
                    "type": "array",
                    "description": "key order; each group has key, label, currency (money measures of an entity with a currency column) and one value per measure, named as asked (sum:amount); amounts are decimal strings",
                    "items": {"type": "object", "required": ["key", "label"], "additionalProperties": True},
                },
                "truncated": {"type": "boolean", "description": "more groups than limit matched"},
            },
        }
        self.paths[f"{API}/{entity.name}/aggregate"] = {
            "get": {
                "summary": f"Count and measure {entity.label_plural.get('en', entity.name)} by group",
                "tags": [entity.name],
                "parameters": [
                    _query("group_by", {"type": "string", "pattern": f"^{group}(,{group}){{0,3}}$"}, "fields, comma-separated; a date or moment as field:day|week|month|quarter|year (weeks start on Monday; the site's time zone)"),
                    _query("measure", {"type": "string", "pattern": f"^{measure}(,{measure})*$", "default": "count"}, "count, count_distinct:F, sum:F, avg:F, min:F, max:F; comma-separated"),
                    _query("limit", {"type": "integer", "minimum": 1, "maximum": AGGREGATE_MAX, "default": AGGREGATE_LIMIT}, "at most this many groups"),
                    _query("time_zone", {"type": "string"}, "an IANA zone for date buckets instead of the site's"),
                    *(p for p in self.list_params(entity) if p["name"] not in paging),
                ],
                "responses": _responses({"200": _json(_ref("Aggregate"), "The groups")}, 403),
            }
        }

    def owner_paths(self, entity: Entity, update: dict[str, Any], id_param: dict[str, Any]) -> None:
        """The kernel's ``assign`` action of an owned entity; its owner field is read-only in a PATCH."""
        name, owner = entity.name, entity.owner_field or ""
        if owner in update.get("properties", {}):
            note = "Read-only here: sending the current owner is accepted, another is a 422; use POST …/assign"
            update["properties"][owner] = {**update["properties"][owner], "description": note}
        self.schemas["AssignBody"] = self.model("AssignBody", AssignBody)
        self.paths[f"{API}/{name}/{{id}}/{ASSIGN}"] = {
            "parameters": [id_param],
            "post": {
                "summary": "Give the record to another user (needs the assign permission; kept as an ownership event)",
                "tags": [name],
                "requestBody": _body(_ref("AssignBody")),
                "responses": _responses({"200": _json(_ref(f"{name}.Record"), "The record with its new owner")}, 403),
            },
        }

    def state_paths(self, entity: Entity, id_param: dict[str, Any]) -> None:
        """A state machine's routes (:mod:`kernel.web.states_api`): the record's state events, the states, their admin."""
        name, obj = entity.name, {"type": "object"}
        self.paths[f"{API}/{name}/{{id}}/transitions"] = {
            "parameters": [id_param],
            "get": {
                "summary": "State events (from, to, who, when, seconds in the previous state, snapshot), oldest first",
                "tags": [name],
                "parameters": page_params(),
                "responses": _responses({"200": _json(obj, "Events")}, 403),
            },
        }
        set_param = _query("set", {"type": "string", "maxLength": 80}, "the set of states (the record's set_by value)")
        admin = "admin; 409 when the states are fixed in code"
        self.paths[f"{API}/meta/entities/{name}/states"] = {
            "get": {"summary": "The states, by set, in order", "tags": [name], "parameters": [set_param], "responses": _responses({"200": _json(obj, "States")}, 403)},
            "post": {
                "summary": f"Add a state: key, label, kind, requires, permission, to, position ({admin})",
                "tags": [name], "parameters": [set_param], "requestBody": _body(obj),
                "responses": _responses({"201": _json(obj, "The state")}, 403, 409),
            },
            "put": {
                "summary": f"Order the states: {{\"order\": [every key]}} ({admin})",
                "tags": [name], "parameters": [set_param], "requestBody": _body(obj),
                "responses": _responses({"200": _json(obj, "The states")}, 403, 409),
            },
        }
        self.paths[f"{API}/meta/entities/{name}/states/{{key}}"] = {
            "parameters": [_path_param("key", {"type": "string"})],
            "patch": {
                "summary": f"Rename or change a state; its key stays ({admin})",
                "tags": [name], "parameters": [set_param], "requestBody": _body(obj),
                "responses": _responses({"200": _json(obj, "The state")}, 403, 409),
            },
            "delete": {
                "summary": f"Remove a state; records in it move to move_to, else 409 with their count ({admin})",
                "tags": [name],
                "parameters": [set_param, _query("move_to", {"type": "string"}, "the state its records move to")],
                "responses": _responses({"200": _json(obj, "How many records moved")}, 403, 409),
            },
        }

    def list_params(self, entity: Entity) -> list[dict[str, Any]]:
        kinds = filter_kinds(entity, self.view)
        keys = "|".join(re.escape(k) for k in kinds if kinds[k][0] != "multi_enum")
        params = [
            *page_params(),
            _query("sort", {"type": "string", "pattern": f"^-?({keys})(,-?({keys}))*$"}, "field or -field, comma-separated"),
        ]
        params.append(_query("total_exact", {"type": "boolean", "default": False}, "true: count every match; by default up to the count cap (10,000)"))
        built_in, custom = search.searched_fields(entity, self.view.fields(entity.name))
        if built_in or custom:
            searched = ", ".join([*built_in, *(f"custom.{name}" for name in custom)])
            described = (
                f"words in {searched}, all of them; a word of 3+ characters matches inside a value, "
                "of 1-2 characters any CJK character or pair, or the start of another word; best matches first unless sort is given"
            )
            params.append(_query("q", {"type": "string", "maxLength": search.MAX_QUERY}, described))
        for key, (kind, schema) in kinds.items():
            if key in CONTROL_PARAMS:
                continue
            schema = filter_value_schema(schema)
            if kind == "multi_enum":
                params.append(_query(key, schema, "contains"))
                continue
            params.append(_query(key, {"anyOf": [schema, {"type": "string", "enum": ["null"]}]}, "equals (null: is empty)"))
            if kind in ORDERED:  # a range needs a value: null is refused there
                params.extend(_query(f"{key}__{op}", schema, f"{'at least' if op == 'gte' else 'at most'} (also __gt, __lt)") for op in ("gte", "lte"))
        return params

    # -- plugins --------------------------------------------------------------------

    def plugin_paths(self) -> None:
        for plugin, routes in routes_by_plugin(self.view, "register_routes").items():
            for route in routes:
                if not isinstance(route, Route):
                    continue
                path = f"{API}/plugins/{plugin}{route.path}"
                doc = (route.endpoint.__doc__ or route.name or "").strip().splitlines()
                methods = sorted(m.lower() for m in route.methods or {"GET"} if m != "HEAD")
                params = [_path_param(p, {"type": "string"}) for p in route.param_convertors]
                operation = {"summary": doc[0] if doc else path, "tags": [f"plugin {plugin}"], "responses": {"default": {"description": "Defined by the plugin"}}}
                self.paths[path] = {**({"parameters": params} if params else {}), **{m: operation for m in methods}}


def filter_value_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A filter value's schema with the bounds :mod:`kernel.parsing` holds it to."""
    kind, fmt = schema.get("type"), schema.get("format")
    if kind == "integer":
        return {**schema, "minimum": INT64_MIN, "maximum": INT64_MAX}
    if kind == "number":
        return {**schema, "exclusiveMinimum": -(10.0**DECIMAL_DIGITS), "exclusiveMaximum": 10.0**DECIMAL_DIGITS}
    if fmt in ("date", "date-time"):
        return {**schema, "description": f"from {FIRST_DATE.isoformat()} to {LAST_DATE.isoformat()} (in UTC)"}
    return schema


TRASH_PAGE: dict[str, Any] = {
    "type": "object",
    "required": ["items", "total", "limit", "offset"],
    "properties": {
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "entity": {"type": "string"},
                    "record_id": {"type": "integer"},
                    "title": {"type": "string"},
                    "record": {"type": "object", "description": "the record as it was deleted (hidden fields left out)"},
                    "children": {"type": "object", "additionalProperties": {"type": "integer"}, "description": "entity → how many of its records went along"},
                    "deleted_at": {"type": "string", "format": "date-time"},
                    "deleted_by": {"type": ["integer", "null"]},
                    "deleted_by_label": {"type": "string"},
                    "expires_at": {"type": "string", "format": "date-time", "description": "when the purge job removes it for good"},
                },
            },
        },
        "total": {"type": "integer"},
        "limit": {"type": "integer"},
        "offset": {"type": "integer"},
    },
}


def page_params() -> list[dict[str, Any]]:
    return [
        _query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}),
        _query("offset", {"type": "integer", "minimum": 0, "maximum": INT64_MAX, "default": 0}),
    ]


def activity_params() -> list[dict[str, Any]]:
    return [
        _query("limit", {"type": "integer", "minimum": 1, "maximum": activity.MAX_LIMIT, "default": activity.DEFAULT_LIMIT}),
        _query("offset", {"type": "integer", "minimum": 0, "maximum": activity.MAX_OFFSET, "default": 0}),
    ]


def activity_schema() -> dict[str, Any]:
    entry = {
        "type": "object",
        "required": ["at", "kind", "title", "entity", "record_id", "data"],
        "properties": {
            "at": {"type": "string", "format": "date-time"},
            "kind": {"type": "string", "description": "change (the record's own audit entries) or the word a plugin chose for its entries"},
            "title": {"type": "string"},
            "entity": {"type": ["string", "null"], "description": "the entity of the record the entry links to"},
            "record_id": {"type": ["integer", "null"]},
            "data": {"type": "object"},
        },
    }
    return {
        "type": "object",
        "required": ["items", "limit", "offset", "next_offset"],
        "properties": {
            "items": {"type": "array", "items": entry},
            "limit": {"type": "integer"},
            "offset": {"type": "integer"},
            "next_offset": {"type": ["integer", "null"], "description": "the offset of the next page; null on the last"},
        },
    }


def history_schema() -> dict[str, Any]:
    entry = {
        "type": "object",
        "required": ["id", "at", "action", "actor", "actor_id", "channel", "changes"],
        "properties": {
            "id": {"type": "integer"},
            "at": {"type": "string", "format": "date-time"},
            "action": {"type": "string"},
            "actor": {"type": "string"},
            "actor_id": {"type": ["integer", "null"]},
            "channel": {"type": "string"},
            "changes": {"type": "object"},
        },
    }
    return {"type": "object", "required": ["items", "limit", "offset"], "properties": {"items": {"type": "array", "items": entry}, "limit": {"type": "integer"}, "offset": {"type": "integer"}}}


def column_schema(column: sa.Column[Any]) -> tuple[str, dict[str, Any]]:
    """The kind and JSON Schema of a stored column's value."""
    try:
        python_type = column.type.python_type
    except NotImplementedError:
        python_type = object
    kind, schema = {
        bool: ("boolean", {"type": "boolean"}),
        int: ("integer", {"type": "integer"}),
        float: ("number", {"type": "number"}),
        Decimal: ("number", {"type": "string", "format": "decimal"}),  # written as a decimal string
        datetime: ("date-time", {"type": "string", "format": "date-time"}),
        date: ("date", {"type": "string", "format": "date"}),
        str: ("string", {"type": "string"}),
    }.get(python_type, ("json", {}))
    return kind, schema


def filter_kinds(entity: Entity, view: View) -> dict[str, tuple[str, dict[str, Any]]]:
    """Every filterable and sortable field with its kind and the schema of a filter value."""
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for column in entity.table.columns:
        if column.name in entity.columns and column.name != "custom":
            kind, schema = column_schema(column)
            if kind != "json":
                found[column.name] = (kind, schema)
    for field_ in view.fields(entity.name).fields.values():
        kind = field_.kind
        schema = {k: v for k, v in field_.schema.items() if k in ("type", "format", "enum")}
        if kind == "multi_enum":
            items = field_.schema["items"]
            schema = {"type": "string", "enum": items["enum"]} if "enum" in items else {"type": "string"}
        elif kind == "money":
            schema = {"type": "string", "format": "decimal"}
        elif kind == "reference":
            schema = {"type": schema["type"]}
        found.setdefault(field_.name, ("number" if kind == "money" else "integer" if kind == "reference" else kind, schema))
    return found


def record_schema(entity: Entity, custom: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for column in entity.table.columns:
        if column.name not in entity.columns:
            continue
        if column.name == "custom":
            properties["custom"] = custom
            continue
        _, schema = column_schema(column)
        if schema and column.nullable:
            schema = {**schema, "type": [schema["type"], "null"]}
        properties[column.name] = schema
    return {"type": "object", "required": list(entity.columns), "properties": properties}


def masked_schema(record: dict[str, Any], masks: Any) -> dict[str, Any]:
    """A record's schema where some fields may be masked: those may be null, and ``_masked`` names them."""
    properties = dict(record["properties"])
    for name in {name for mask in masks for name in mask.fields}:
        schema = properties.get(name)
        if isinstance(schema, dict) and isinstance(schema.get("type"), str):
            properties[name] = {**schema, "type": [schema["type"], "null"]}
    properties["_masked"] = {
        "type": "array", "items": {"type": "string"},
        "description": "Fields masked for the caller on this record (their values read as null); absent when none is.",
    }
    return {**record, "properties": properties}


def openapi_document(view: View) -> dict[str, Any]:
    return Builder(view).build()


class Documents:
    """The document for the newest view, rebuilt only when the view's version changes."""

    def __init__(self) -> None:
        self._version: int | None = None
        self._document: dict[str, Any] = {}

    def get(self, view: View) -> dict[str, Any]:
        if view.version != self._version:
            self._document = openapi_document(view)
            self._version = view.version
        return self._document


async def openapi_json(request: Request) -> Response:
    """The document, for signed-in callers only (bearer token or session): it names every custom
    field and its options, which ``/api/v1/meta/entities`` also keeps from anonymous callers."""
    authenticate(site_of(request), request)
    documents: Documents = request.app.state.openapi
    return JSON(documents.get(site_of(request).view))


async def api_docs(request: Request) -> Response:
    """Swagger UI over the document; signed-out browsers are sent to sign in first."""
    try:
        authenticate(site_of(request), request)
    except Unauthorized:
        return RedirectResponse("/login?next=/api/docs", status_code=303)
    page = Template((HERE / "templates" / "api_docs.html").read_text(encoding="utf-8"))
    urls = {
        "spec": str(request.url_for("api:openapi")),
        "css": str(request.url_for("swagger", path="swagger-ui.css")),
        "bundle": str(request.url_for("swagger", path="swagger-ui-bundle.js")),
        "init": str(request.url_for("swagger", path="init.js")),
    }
    return HTMLResponse(page.substitute({k: html.escape(v) for k, v in urls.items()}))


def docs_routes() -> list[BaseRoute]:
    """``/api/docs`` and its assets (mounted at the root)."""
    return [
        Route("/api/docs", api_docs, methods=["GET"], name="api_docs"),
        Mount("/api/docs/assets", app=StaticFiles(directory=HERE / "static" / "swagger"), name="swagger"),
    ]
