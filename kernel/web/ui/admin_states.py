"""``/admin/states``: the admin-edited states of each entity (:mod:`kernel.states`), one set at a time.

Every form goes through ``site.states`` like its REST twin ``/api/v1/meta/entities/E/states``:
add a state, rename one or change its kind, move it up or down, remove it (naming where its
records go). A refusal is shown above the set and nothing is stored.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from ...errors import NotFound, RecordError
from ...fielddescriptions import N_, form_fields
from ...states import KINDS
from .context import UI, ui_for
from .display import reference_labels
from .session import check_csrf

KIND_LABELS = {"open": N_("In progress"), "won": N_("Won"), "lost": N_("Lost"), "closed": N_("Closed")}


def _editable(ui: UI) -> list[Any]:
    return [e for e in ui.view.entities.values() if e.states is not None and e.states.editable]


async def states_index(request: Request) -> Response:
    ui = ui_for(request)
    ui.require_admin()
    entities = _editable(ui)
    sets = {e.name: [(s["key"], _set_name(ui, e, s["key"])) for s in ui.site.states.describe(e.name)["sets"]] for e in entities if e.states and e.states.set_by}
    chooser = {e.name: _set_field(ui, e) for e in entities if e.states and e.states.set_by}
    return ui.render("admin/states_index.html", entities=entities, sets=sets, chooser=chooser)


def _set_field(ui: UI, entity: Any) -> Any:
    """The field whose value picks an entity's state set (a pipeline's ``pipeline_id``), or None."""
    return next((f for f in form_fields(ui.view, entity) if f.name == entity.states.set_by), None)


def _set_name(ui: UI, entity: Any, set_key: str | None) -> str:
    """How a state set reads: the field's label and, for a reference, the record it names
    ("Pipeline: 大客户销售"), not ``pipeline_id = 3``."""
    if not set_key:
        return ""
    chosen = _set_field(ui, entity)
    if chosen is None:
        return f"{entity.states.set_by} = {set_key}"
    name = set_key
    if chosen.reference and set_key.isdigit():
        name = reference_labels(ui, [chosen], [{chosen.name: int(set_key)}]).get((chosen.reference, int(set_key)), f"#{set_key}")
    return f"{chosen.label_text(ui.locale, ui.gettext)}: {name}"


def _set_of(request: Request) -> str | None:
    return request.query_params.get("set") or None


def _url(entity: str, set_key: str | None) -> str:
    return f"/admin/states/{entity}" + (f"?set={quote(set_key)}" if set_key else "")


def _render(ui: UI, entity_name: str, set_key: str | None, status_code: int = 200, problems: list[str] | None = None) -> Response:
    entity = ui.view.entity(entity_name)
    if entity is None or entity.states is None or not entity.states.editable:
        raise NotFound(f"no entity with admin-edited states named {entity_name!r}")
    described = ui.site.states.describe(entity.name, set_key)
    found = described["sets"][0]["states"] if described["sets"] else []
    return ui.render(
        "admin/states.html",
        status_code=status_code,
        entity=entity,
        set_key=set_key or "",
        set_name=_set_name(ui, entity, set_key),
        states=found,
        kinds=[(kind, ui.gettext(KIND_LABELS[kind])) for kind in KINDS],
        action=_url(entity.name, set_key),
        problems=problems or [],
        saved=ui.request.query_params.get("saved"),
    )


async def states_page(request: Request) -> Response:
    """``GET /admin/states/E[?set=K]``: the set's states; ``POST`` adds one."""
    ui = ui_for(request)
    actor = ui.require_admin()
    entity, set_key = request.path_params["entity"], _set_of(request)
    if request.method == "POST":
        form = await request.form()
        check_csrf(request, form)
        body = {
            "key": str(form.get("key") or "").strip(),
            "label": {"en": str(form.get("label_en") or "").strip(), "zh_CN": str(form.get("label_zh_CN") or "").strip()},
            "kind": str(form.get("kind") or "open"),
        }
        try:
            ui.site.states.add(actor, entity, set_key, body)
        except RecordError as exc:
            exc = ui.explain(exc)
            return _render(ui, entity, set_key, exc.status, [_reason(ui, exc)])
        return ui.redirect(_url(entity, set_key) + ("&" if set_key else "?") + "saved=1")
    return _render(ui, entity, set_key)


async def state_change(request: Request) -> Response:
    """``POST /admin/states/E/KEY[?set=K]`` with ``do`` = ``save`` (labels, kind), ``up``, ``down`` or ``remove`` (``move_to``)."""
    ui = ui_for(request)
    actor = ui.require_admin()
    entity, key, set_key = request.path_params["entity"], request.path_params["key"], _set_of(request)
    form = await request.form()
    check_csrf(request, form)
    do = form.get("do")
    states = ui.site.states
    try:
        if do == "save":
            label = {"en": str(form.get("label_en") or "").strip(), "zh_CN": str(form.get("label_zh_CN") or "").strip()}
            states.change(actor, entity, set_key, key, {"label": label, "kind": str(form.get("kind") or "")})
        elif do in ("up", "down"):
            keys = [s.key for s in states.definitions(entity, set_key)]
            if key in keys:
                index = keys.index(key)
                other = index - 1 if do == "up" else index + 1
                if 0 <= other < len(keys):
                    keys[index], keys[other] = keys[other], keys[index]
                    states.reorder(actor, entity, set_key, keys)
        elif do == "remove":
            states.remove(actor, entity, set_key, key, move_to=str(form.get("move_to") or "") or None)
        else:
            return _render(ui, entity, set_key, 422, [ui.gettext("Unknown request.")])
    except RecordError as exc:
        exc = ui.explain(exc)
        if isinstance(exc, NotFound) and ui.view.entity(entity) is None:
            raise
        return _render(ui, entity, set_key, exc.status, [_reason(ui, exc)])
    return ui.redirect(_url(entity, set_key) + ("&" if set_key else "?") + "saved=1")


def _reason(ui: UI, exc: RecordError) -> str:
    count = next((d["count"] for d in exc.details if isinstance(d.get("count"), int)), None)
    if count is not None:
        return ui.gettext("%(count)s records are in this state: choose the state they move to.", count=count)
    details = [str(d.get("msg")) for d in exc.details if d.get("msg")]
    return "; ".join(details) if details else exc.message
