"""The stages of a pipeline over the API, the twin of the admins' editor page (:mod:`.stageedit`):

- ``GET /api/v1/plugins/pipeline/pipelines/{id}/stages`` → ``{"items": [stage, …]}`` in order, each
  ``{"key", "label", "position", "kind", "probability", "rotting_days", "requires", "feedback"}``;
- ``POST …/stages`` ``{"key", "label": {"en", "zh_CN"}, "kind"?, "probability"?, "rotting_days"?,
  "requires"?, "feedback"?, "position"?}`` adds one (201);
- ``PATCH …/stages/{key}`` changes any of those but ``key``;
- ``PUT …/stages/order`` ``{"keys": [...]}`` reorders them, every key once;
- ``DELETE …/stages/{key}?move_to=K`` removes one, its opportunities moved to ``K`` (409 naming how
  many when ``move_to`` is needed) → ``{"moved": n}``.

Reading needs ``pipelines.read`` on that pipeline; every change needs ``pipelines.update`` and answers
the stages as they now are. Each change is one transaction, audited by the kernel's state sets.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from kernel import ValidationError, jsonable, parse_id, read_json_object

from .stageedit import add_stage, change_stage, remove_stage, reorder_stages
from .stages import stages_of

FIELDS = ("key", "label", "kind", "probability", "rotting_days", "requires", "feedback", "position")


def _pipeline(request: Request) -> int:
    """The path's pipeline, if the caller may read it (404 otherwise, as for any record)."""
    site, actor = request.app.state.site, request.state.actor
    pipeline_id = parse_id(request.path_params["pipeline_id"], ["path", "pipeline_id"])
    site.records.get(actor, "pipelines", pipeline_id)
    return pipeline_id


def _stages(request: Request, pipeline_id: int, status_code: int = 200, **more: Any) -> JSONResponse:
    """The pipeline's stages as they are now (``more``: other keys of the answer)."""
    site = request.app.state.site
    with site.engine.connect() as conn:
        found = stages_of(site, conn, pipeline_id)
    return JSONResponse(jsonable({**more, "items": [stage.as_public(i) for i, stage in enumerate(found)]}), status_code=status_code)


def _known(body: dict[str, Any], allowed: tuple[str, ...]) -> dict[str, Any]:
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise ValidationError.at(["body", unknown[0]], f"is not a stage field; send {', '.join(allowed)}")
    return body


async def stages(request: Request) -> Response:
    """``GET`` the stages; ``POST`` adds one."""
    pipeline_id = _pipeline(request)
    if request.method == "POST":
        body = _known(await read_json_object(request), FIELDS)
        if not isinstance(body.get("key"), str):
            raise ValidationError.at(["body", "key"], "is required: the stage's key, e.g. \"trial\"")
        add_stage(request.app.state.site, request.state.actor, pipeline_id, body)
        return _stages(request, pipeline_id, 201)
    return _stages(request, pipeline_id)


async def stage(request: Request) -> Response:
    """``PATCH`` changes a stage; ``DELETE`` removes it."""
    site, actor = request.app.state.site, request.state.actor
    pipeline_id, key = _pipeline(request), request.path_params["key"]
    if request.method == "DELETE":
        moved = remove_stage(site, actor, pipeline_id, key, request.query_params.get("move_to") or None)
        return _stages(request, pipeline_id, moved=moved)
    change_stage(site, actor, pipeline_id, key, _known(await read_json_object(request), FIELDS[1:]))
    return _stages(request, pipeline_id)


async def order(request: Request) -> Response:
    """``PUT {"keys": [...]}``: the stages in this order."""
    pipeline_id = _pipeline(request)
    keys = _known(await read_json_object(request), ("keys",)).get("keys")
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise ValidationError.at(["body", "keys"], "is required: every stage's key, in the new order")
    reorder_stages(request.app.state.site, request.state.actor, pipeline_id, keys)
    return _stages(request, pipeline_id)


def routes() -> list[BaseRoute]:
    return [
        Route("/pipelines/{pipeline_id}/stages", stages, methods=["GET", "POST"]),
        Route("/pipelines/{pipeline_id}/stages/order", order, methods=["PUT"]),
        Route("/pipelines/{pipeline_id}/stages/{key}", stage, methods=["PATCH", "DELETE"]),
    ]
