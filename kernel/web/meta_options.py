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
