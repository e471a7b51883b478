"""Admin pages: plugins and custom fields. Users, teams and roles use the generic record pages.

Plugin switches go through :mod:`kernel.pluginstate` and field changes through
:mod:`kernel.fielddefs`, the same functions the CLI and the REST API call.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ... import fielddefs, pluginstate
from ...customfields import FIELD_NAME
from ...errors import CRMError, NotFound, RecordError
from .context import ui_for
from .forms import errors_by_field
from .session import check_csrf

#: What the "add a field" form offers, and the JSON Schema each kind starts from.
KINDS: dict[str, dict[str, Any]] = {
    "string": {"type": "string", "maxLength": 200},
    "text": {"type": "string", "maxLength": 5000},
    "date": {"type": "string", "format": "date"},
    "date-time": {"type": "string", "format": "date-time"},
    "email": {"type": "string", "format": "email"},
    "uri": {"type": "string", "format": "uri"},
    "phone": {"type": "string", "format": "phone"},
    "integer": {"type": "integer"},
    "number": {"type": "number"},
    "money": {"type": "number", "format": "money"},
    "boolean": {"type": "boolean"},
    "enum": {"type": "string"},
    "multi_enum": {"type": "array"},
    "reference": {"type": "integer", "format": "reference"},
}


def field_schema(kind: str, options: str, target: str) -> dict[str, Any]:
    """A custom field's JSON Schema from the add form (checked again by :mod:`kernel.fielddefs`)."""
    schema = dict(KINDS.get(kind, KINDS["string"]))
    choices = list(dict.fromkeys(part.strip() for part in options.replace("\n", ",").split(",") if part.strip()))
    if kind == "enum":
        schema["enum"] = choices
    elif kind == "multi_enum":
        schema["items"] = {"type": "string", "enum": choices}
    elif kind == "reference":
        schema["x-entity"] = target
    return schema


async def plugins_page(request: Request) -> Response:
    ui = ui_for(request)
    actor = ui.require_admin()
    error = None
    if request.method == "POST":
        form = await request.form()
        check_csrf(request, form)
        name, wanted = str(form.get("name", "")), form.get("enable") == "yes"
        try:
            (pluginstate.enable_plugin if wanted else pluginstate.disable_plugin)(ui.site, actor, name)
        except CRMError as exc:
            error = str(exc)
        else:
            return ui.redirect(f"/admin/plugins?changed={name}")
    plugins = pluginstate.describe_plugins(ui.site)
    enabled = {p["name"] for p in plugins if p["enabled"]}
    for plugin in plugins:
        plugin["missing"] = [r for r in plugin["requires"] if r not in enabled]
        plugin["dependents"] = [p["name"] for p in plugins if plugin["name"] in p["requires"] and p["enabled"]]
    return ui.render(
        "admin/plugins.html", status_code=409 if error else 200, plugins=plugins, error=error,
        changed=request.query_params.get("changed"), welcome=request.query_params.get("welcome"),
    )


async def fields_index(request: Request) -> Response:
    ui = ui_for(request)
    ui.require_admin()
    entities = [(name, ui.label(e.label_plural, name), len(ui.view.fields(name).fields)) for name, e in ui.view.entities.items()]
    return ui.render("admin/fields_index.html", entities=entities)


async def fields_page(request: Request) -> Response:
    ui = ui_for(request)
    actor = ui.require_admin()
    name = request.path_params["entity"]
    entity = ui.view.entity(name)
    if entity is None:
        raise NotFound(f"no entity named {name!r}")
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    other: list[str] = []
    if request.method == "POST":
        form = await request.form()
        check_csrf(request, form)
        values = {k: str(form.get(k) or "") for k in ("name", "label_en", "label_zh_CN", "kind", "options", "target")}
        values["indexed"] = "indexed" in form
        label = {k: v for k, v in (("en", values["label_en"]), ("zh_CN", values["label_zh_CN"])) if v.strip()} or None
        try:
            schema = field_schema(values["kind"], values["options"], values["target"])
            fielddefs.add_field(ui.site, actor, name, values["name"].strip(), schema, label=label, indexed=values["indexed"])
        except RecordError as exc:
            errors, other = errors_by_field(exc.details)
            errors = {_form_key(k): v for k, v in errors.items()}
            other = other or ([] if errors else [exc.message])
        else:
            return ui.redirect(f"/admin/fields/{name}?added={values['name'].strip()}")
    return ui.render(
        "admin/fields.html", status_code=422 if errors or other else 200,
        entity=entity, entity_plural=ui.label(entity.label_plural, name), fields=fielddefs.list_fields(ui.site, name),
        kinds=list(KINDS), targets=[(n, ui.label(e.label_plural, n)) for n, e in ui.view.entities.items()],
        values=values, errors=errors, other_errors=other, added=request.query_params.get("added"),
        name_pattern=FIELD_NAME.pattern,
    )


def _form_key(loc: str) -> str:
    """Where a definition error is shown: schema problems go next to the kind and its options."""
    if loc.startswith("schema"):
        return "options"
    return {"label": "label_en"}.get(loc, loc)


async def field_change(request: Request) -> Response:
    """``POST /admin/fields/E/NAME`` with ``op=remove|index|unindex``."""
    ui = ui_for(request)
    actor = ui.require_admin()
    entity, name = request.path_params["entity"], request.path_params["name"]
    form = await request.form()
    check_csrf(request, form)
    op = form.get("op")
    if op == "remove":
        fielddefs.remove_field(ui.site, actor, entity, name)
    elif op in ("index", "unindex"):
        fielddefs.set_indexed(ui.site, actor, entity, name, op == "index")
    return ui.redirect(f"/admin/fields/{entity}")
