"""``/api/v1/meta/option-lists``: the option lists fields take their choices from (:mod:`kernel.optionlists`).

Anyone signed in reads them (forms and imports need the codes and labels); only an admin changes
them (403), each change audited:

``GET /option-lists`` · ``POST /option-lists`` ``{"name", "label", "tree"}`` ·
``GET|PATCH /option-lists/{name}`` (``{"label", "tree"}``) ·
``POST /option-lists/{name}/options`` ``{"code", "label", "colour", "parent"}`` ·
``PATCH /option-lists/{name}/options/{code}`` ``{"label", "colour", "parent", "archived", "review"}`` ·
``PUT /option-lists/{name}/order`` ``{"codes": [...]}`` ·
``POST /option-lists/{name}/merge`` ``{"from": CODE, "into": CODE}`` (rewrites the records holding ``from``).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .. import optionlists
from ..errors import ValidationError
from .api import actor_of, site_of
from .meta_forms import require_admin_of
from .payload import JSON, read_json


def _object(body: object, allowed: tuple[str, ...]) -> dict:
    from .meta import _object as checked

    return checked(body, allowed)


async def lists(request: Request) -> Response:
    site = site_of(request)
    if request.method == "GET":
        actor_of(request)
        return JSON({"items": [optionlists.describe(site, name) for name in sorted(site.view.option_lists)]})
    actor = require_admin_of(request)
    body = _object(await read_json(request), ("name", "label", "tree"))
    return JSON(optionlists.create_list(site, actor, body.get("name"), body.get("label"), body.get("tree", False)), status_code=201)


async def one_list(request: Request) -> Response:
    site = site_of(request)
    name = request.path_params["name"]
    if request.method == "GET":
        actor_of(request)
        return JSON(optionlists.describe(site, name))
    actor = require_admin_of(request)
    body = _object(await read_json(request), ("label", "tree"))
    if "tree" in body and not isinstance(body["tree"], bool):
        raise ValidationError.at(["body", "tree"], "must be true or false")
    return JSON(optionlists.change_list(site, actor, name, label=body.get("label"), tree=body.get("tree")))


async def options(request: Request) -> Response:
    actor = require_admin_of(request)
    body = await read_json(request)
    return JSON(optionlists.add_option(site_of(request), actor, request.path_params["name"], body), status_code=201)


async def option(request: Request) -> Response:
    actor = require_admin_of(request)
    body = await read_json(request)
    return JSON(optionlists.change_option(site_of(request), actor, request.path_params["name"], request.path_params["code"], body))


async def order(request: Request) -> Response:
    actor = require_admin_of(request)
    body = _object(await read_json(request), ("codes",))
    return JSON(optionlists.reorder(site_of(request), actor, request.path_params["name"], body.get("codes")))


async def merge(request: Request) -> Response:
    actor = require_admin_of(request)
    body = _object(await read_json(request), ("from", "into"))
    return JSON(optionlists.merge(site_of(request), actor, request.path_params["name"], body.get("from"), body.get("into")))


def option_list_routes() -> list[BaseRoute]:
    return [
        Route("/option-lists", lists, methods=["GET", "POST"], name="option_lists"),
        Route("/option-lists/{name}", one_list, methods=["GET", "PATCH"], name="option_list"),
        Route("/option-lists/{name}/options", options, methods=["POST"], name="option_list_options"),
        Route("/option-lists/{name}/options/{code}", option, methods=["PATCH"], name="option_list_option"),
        Route("/option-lists/{name}/order", order, methods=["PUT"], name="option_list_order"),
        Route("/option-lists/{name}/merge", merge, methods=["POST"], name="option_list_merge"),
    ]


LABELS = {"type": "object", "properties": {"en": {"type": "string"}, "zh_CN": {"type": "string"}}}
OPTION = {
    "type": "object",
    "required": ["code", "label"],
    "properties": {
        "code": {"type": "string", "pattern": optionlists.CODE.pattern},
        "label": LABELS,
        "colour": {"type": ["string", "null"], "pattern": optionlists.COLOUR.pattern},
        "parent": {"type": ["string", "null"]},
        "archived": {"type": "boolean"},
        "position": {"type": "integer"},
        "review": {"type": "boolean", "description": "made from free text by a migration: merge it or keep it"},
        "merged_into": {"type": ["string", "null"]},
    },
}
OPTION_LIST = {
    "type": "object",
    "required": ["name", "label", "tree", "options"],
    "properties": {
        "name": {"type": "string"}, "label": LABELS, "tree": {"type": "boolean"}, "plugin": {"type": ["string", "null"]},
        "options": {"type": "array", "items": OPTION},
        "fields": {"type": "array", "items": {"type": "string"}, "description": "entity.field (entity.custom.field) using the list"},
    },
}


def option_list_paths() -> dict[str, object]:
    """The OpenAPI paths of the routes above."""
    from .openapi import API, _body, _json, _path_param, _responses

    name = _path_param("name", {"type": "string"})
    answer = _json(OPTION_LIST, "The list")
    change = {"type": "object", "properties": {k: v for k, v in OPTION["properties"].items() if k in ("label", "colour", "parent", "archived", "review")}}
    merged = {**OPTION_LIST, "properties": {**OPTION_LIST["properties"], "records": {"type": "object", "additionalProperties": {"type": "integer"}}}}
    return {
        f"{API}/meta/option-lists": {
            "get": {"summary": "Option lists, with their options", "responses": _responses({"200": _json({"type": "object", "properties": {"items": {"type": "array", "items": OPTION_LIST}}}, "Lists")})},
            "post": {"summary": "Create an option list (admin)", "requestBody": _body({"type": "object", "required": ["name", "label"], "properties": {"name": {"type": "string"}, "label": LABELS, "tree": {"type": "boolean"}}}),
                     "responses": _responses({"201": answer}, 403, 409)},
        },
        f"{API}/meta/option-lists/{{name}}": {
            "parameters": [name],
            "get": {"summary": "One option list", "responses": _responses({"200": answer}, 404)},
            "patch": {"summary": "Change a list's labels or whether it is a tree (admin)", "requestBody": _body({"type": "object", "properties": {"label": LABELS, "tree": {"type": "boolean"}}}),
                      "responses": _responses({"200": answer}, 403, 404)},
        },
        f"{API}/meta/option-lists/{{name}}/options": {
            "parameters": [name],
            "post": {"summary": "Add an option at the end (admin)", "requestBody": _body(OPTION), "responses": _responses({"201": answer}, 403, 404, 409)},
        },
        f"{API}/meta/option-lists/{{name}}/options/{{code}}": {
            "parameters": [name, _path_param("code", {"type": "string"})],
            "patch": {"summary": "Change an option's labels, colour, parent or archived flag (admin)", "requestBody": _body(change), "responses": _responses({"200": answer}, 403, 404)},
        },
        f"{API}/meta/option-lists/{{name}}/order": {
            "parameters": [name],
            "put": {"summary": "Order the options (admin)", "requestBody": _body({"type": "object", "required": ["codes"], "properties": {"codes": {"type": "array", "items": {"type": "string"}}}}),
                    "responses": _responses({"200": answer}, 403, 404)},
        },
        f"{API}/meta/option-lists/{{name}}/merge": {
            "parameters": [name],
            "post": {"summary": "Merge one option into another: records holding it are rewritten (admin)",
                     "requestBody": _body({"type": "object", "required": ["from", "into"], "properties": {"from": {"type": "string"}, "into": {"type": "string"}}}),
                     "responses": _responses({"200": _json(merged, "The list, and how many records changed per field")}, 403, 404)},
        },
    }
