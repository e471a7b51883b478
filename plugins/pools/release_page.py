"""The release dialog of every pool kind: ``/p/pools/release/ENTITY/ID`` asks for a reason from the list admins
extend (``pools.release_reasons``) and runs :func:`~.operations.release`. The generic ``release`` action's button on a
record's page and "My holdings" both lead here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from kernel import NotFound, RecordError
from kernel.ui import check_form, record_title, render, ui_of

from .kinds import kind_of
from .operations import release
from .rules import is_admin

if TYPE_CHECKING:
    from kernel.ui import UI


def reasons(ui: UI) -> list[tuple[str, str]]:
    """The live release reasons as ``(code, label in the reader's language)``."""
    listed = ui.site.view.option_lists.get("pools.release_reasons")
    return [(o.code, ui.label(o.label, o.code)) for o in (listed.options if listed is not None else ()) if o.live]


def refusal(ui: UI, exc: RecordError, entity: str) -> str:
    """A refusal as one sentence in the reader's language, its first detail added when it says more."""
    explained = ui.explain(exc, entity)
    details = [d.get("msg") for d in explained.details or [] if d.get("msg")]
    text = str(explained.message)
    return f"{text} {details[0]}" if details and str(details[0]) not in text else text


def _back(request: Request, fallback: str) -> str:
    """Where to go after the release: a local ``next`` path, else ``fallback``."""
    wanted = request.query_params.get("next", "")
    return wanted if wanted.startswith("/") and not wanted.startswith("//") else fallback


async def release_page(request: Request) -> Response:
    """``GET``: the record, its pool and the reasons; ``POST``: the release (its owner, or an admin of its pool)."""
    ui = ui_of(request)
    site, actor = ui.site, ui.actor
    entity = request.path_params["entity"]
    kind = kind_of(site, entity)
    if kind is None:
        raise NotFound(ui.gettext("Only records of a pool can be released."))
    record = site.records.get(actor, entity, request.path_params["id"])
    owner = record.get(kind.owner(site.view.entities[entity]))
    pool_id = record.get(kind.pool_field)
    pool: dict[str, Any] | None = None
    if pool_id is not None:
        try:
            pool = site.records.get(actor, kind.pool_entity, pool_id)
        except NotFound:
            pool = None
    if owner is None or pool is None or (owner != actor.user_id and not is_admin(pool, actor)):
        raise NotFound(ui.gettext("Only a record of a pool that you hold (or whose pool you administer) can be released."))
    error, chosen, status = None, "", 200
    if request.method == "POST":
        form = await check_form(request)
        chosen = str(form.get("reason") or "")
        if not chosen:
            error, status = ui.gettext("Choose why you release this record."), 422
        else:
            try:
                release(site, actor, entity, record["id"], chosen)
            except RecordError as exc:
                error, status = refusal(ui, exc, entity), exc.status
            else:
                return ui.redirect(_back(request, "/p/pools/holdings?released=1"))
    response = render(
        request, "pools/release.html", entity=entity, record=record, title=record_title(site.view.entity(entity), record), pool=pool, kind=kind,
        reasons=reasons(ui), chosen=chosen, error=error, cancel=_back(request, f"/r/{entity}/{record['id']}"),
    )
    response.status_code = status
    return response
