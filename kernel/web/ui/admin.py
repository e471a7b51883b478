"""Admin pages: plugins and custom fields (with a preview of the entity's form).

Plugin switches go through :mod:`kernel.pluginstate` and field changes through
:mod:`kernel.fielddefs`, the same functions the CLI and the REST API call. Users,
teams, roles and record rules are in :mod:`.admin_security`, the audit log in
:mod:`.admin_audit`, run-time settings in :mod:`.admin_settings`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ... import fielddefs, formlayout, pluginstate
from ...customfields import FIELD_NAME, CustomField, FieldSet, check_definition
from ...errors import CRMError, NotFound, RecordError
from ...messages import Labels, whole_message
from . import field_limits as limits
from .context import UI, ui_for
from ...fielddescriptions import N_, form_fields
from .forms import errors_by_field, form_values
from .records_views import choices_for
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
    "option": {"type": "string"},  # choices from an option list (kernel.optionlists)
    "multi_enum": {"type": "array"},
    "reference": {"type": "integer", "format": "reference"},
}


#: Each kind's name as people read it.
KIND_NAMES = {
    "string": N_("Text"), "text": N_("Long text"), "date": N_("Date"), "date-time": N_("Date and time"),
    "email": N_("Email"), "uri": N_("Web address"), "phone": N_("Phone"), "integer": N_("Whole number"),
    "number": N_("Number"), "money": N_("Money"), "boolean": N_("Yes / no"), "enum": N_("Choice"),
    "option": N_("Choice from an option list"), "multi_enum": N_("Several choices"), "reference": N_("Link to a record"),
}


def kind_names(ui: UI) -> dict[str, str]:
    return {kind: ui.gettext(text) for kind, text in KIND_NAMES.items()}


def field_schema(kind: str, options: str, target: str, more: dict[str, Any] | None = None) -> dict[str, Any]:
    """A custom field's JSON Schema from the add form (checked again by :mod:`kernel.fielddefs`);
    ``more`` carries the option list, the optional help text, maximum length, currency, minimum, default and required flag."""
    schema = dict(KINDS.get(kind, KINDS["string"]))
    schema.update(limits.extra_schema(kind, schema, more or {}))
    choices = list(dict.fromkeys(part.strip() for part in options.replace("\n", ",").split(",") if part.strip()))
    if kind == "enum":
        schema["enum"] = choices
    elif kind == "multi_enum":
        schema["items"] = {"type": "string", "enum": choices}
    elif kind == "reference":
        schema["x-entity"] = target
    elif kind == "option":
        schema["x-options"] = (more or {}).get("option_list", "")
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
            error = whole_message(str(exc), Labels(ui.view, None, ui.locale, ui.gettext))  # the reader's language
        else:
            return ui.redirect(f"/admin/plugins?changed={name}")
    plugins = pluginstate.describe_plugins(ui.site)
    enabled = {p["name"] for p in plugins if p["enabled"]}
    for plugin in plugins:
        plugin["missing"] = [r for r in plugin["requires"] if r not in enabled]
        plugin["dependents"] = [p["name"] for p in plugins if plugin["name"] in p["requires"] and p["enabled"]]
    labels = {p["name"]: ui.label(p["label"], p["name"]) for p in plugins}
    joiner = "、" if ui.locale == "zh_CN" else ", "
    for plugin in plugins:
        plugin["named"] = {k: joiner.join(labels.get(n, n) for n in plugin[k]) for k in ("requires", "dependents", "missing")}
    return ui.render(
        "admin/plugins.html", status_code=409 if error else 200, plugins=plugins, error=error,
        changed=request.query_params.get("changed"), welcome=request.query_params.get("welcome"),
    )


async def fields_index(request: Request) -> Response:
    ui = ui_for(request)
    ui.require_admin()
    entities = [(name, ui.label(e.label_plural, name), len(ui.view.fields(name).fields)) for name, e in ui.view.entities.items()]
    return ui.render("admin/fields_index.html", entities=entities)


def _entity_of(ui: UI, name: str) -> Any:
    entity = ui.view.entity(name)
    if entity is None:
        raise NotFound(f"no entity named {name!r}")
    return entity


def _add_form(form: Any) -> dict[str, Any]:
    values: dict[str, Any] = {k: str(form.get(k) or "") for k in ("name", "label_en", "label_zh_CN", "kind", "options", "target", "option_list", *limits.EXTRA_KEYS)}
    values["indexed"] = "indexed" in form
    values["required"] = "required" in form
    return values


def _labels(values: dict[str, Any]) -> dict[str, str] | None:
    return {k: v.strip() for k, v in (("en", values["label_en"]), ("zh_CN", values["label_zh_CN"])) if v.strip()} or None


def form_preview(ui: UI, entity: Any, draft: CustomField | None = None) -> dict[str, Any]:
    """The entity's create form as it is now, plus ``draft`` (not saved) as its last custom field."""
    view = ui.view
    if draft is not None:
        current = [f for f in view.fields(entity.name).fields.values() if f.name != draft.name]
        view = replace(view, custom_fields={**view.custom_fields, entity.name: FieldSet(entity.name, [*current, draft])})
    fields = [f for f in formlayout.input_fields(form_fields(view, entity)) if f.widget != "password"]  # as users see it
    return {
        "preview_fields": fields,
        "preview_values": form_values(None, fields, ui.tzinfo),
        "preview_choices": choices_for(ui, fields),
        "draft": draft,
        "entity_label": ui.label(entity.label, entity.name),
        "preview_error": None,
    }


async def field_preview(request: Request) -> Response:
    """``POST /admin/fields/E/_preview``: the form with the field being added; nothing is saved.

    htmx asks for the preview alone; without JavaScript the whole page comes back.
    """
    ui = ui_for(request)
    ui.require_admin()
    entity = _entity_of(ui, request.path_params["entity"])
    form = await request.form()
    check_csrf(request, form)
    values = _add_form(form)
    name = values["name"].strip() or "new_field"
    problem = None
    draft = None
    try:
        schema = field_schema(values["kind"], values["options"], values["target"], values)
        check_definition(name, schema)
        draft = CustomField(entity.name, name, schema, _labels(values) or {"en": name.replace("_", " ").capitalize()})
    except RecordError as exc:
        exc = ui.explain(exc)
        problem = exc.message
    preview = {**form_preview(ui, entity, draft), "preview_error": problem}
    if request.headers.get("HX-Request"):
        return ui.render("admin/_form_preview.html", **preview)
    return _fields_page(ui, entity, values, {}, [], preview)


async def fields_page(request: Request) -> Response:
    ui = ui_for(request)
    actor = ui.require_admin()
    name = request.path_params["entity"]
    entity = _entity_of(ui, name)
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    other: list[str] = []
    if request.method == "POST":
        form = await request.form()
        check_csrf(request, form)
        values = _add_form(form)
        label = _labels(values)
        try:
            schema = field_schema(values["kind"], values["options"], values["target"], values)
            fielddefs.add_field(ui.site, actor, name, values["name"].strip(), schema, label=label, indexed=values["indexed"])
        except RecordError as exc:
            exc = ui.explain(exc)
            errors, other = errors_by_field(exc.details)
            errors = {_form_key(k): v for k, v in errors.items()}
            other = other or ([] if errors else [exc.message])
        else:
            return ui.redirect(f"/admin/fields/{name}?added={values['name'].strip()}")
    return _fields_page(ui, entity, values, errors, other, form_preview(ui, entity))


def _fields_page(ui: UI, entity: Any, values: dict[str, Any], errors: dict[str, str], other: list[str], preview: dict[str, Any]) -> Response:
    name = entity.name
    params = ui.request.query_params
    return ui.render(
        "admin/fields.html", status_code=422 if errors or other else 200,
        entity=entity, entity_plural=ui.label(entity.label_plural, name), fields=fielddefs.list_fields(ui.site, name),
        kinds=list(KINDS), targets=[(n, ui.label(e.label_plural, n)) for n, e in ui.view.entities.items()],
        option_lists=[(n, ui.label(listed.label, n)) for n, listed in sorted(ui.view.option_lists.items())],
        values=values, errors=errors, other_errors=other, added=params.get("added"), changed=params.get("changed"),
        name_pattern=FIELD_NAME.pattern, kind_names=kind_names(ui), **preview,
    )


async def field_edit(request: Request) -> Response:
    """``/admin/fields/E/NAME/edit``: labels, description and (for choice fields) options."""
    ui = ui_for(request)
    actor = ui.require_admin()
    entity = _entity_of(ui, request.path_params["entity"])
    name = request.path_params["name"]
    current = ui.view.fields(entity.name).fields.get(name)
    if current is None:
        raise NotFound(f"{entity.name} has no custom field {name!r}")
    options = current.schema.get("enum") or current.schema.get("items", {}).get("enum")
    values = {
        "label_en": current.label.get("en", ""), "label_zh_CN": current.label.get("zh_CN", ""),
        "description": current.schema.get("description", ""), "options": "\n".join(options or ()),
    }
    errors: dict[str, str] = {}
    other: list[str] = []
    status = 200
    if request.method == "POST":
        form = await request.form()
        check_csrf(request, form)
        values = {k: str(form.get(k) or "") for k in values}
        wanted = [part.strip() for part in values["options"].replace("\n", ",").split(",") if part.strip()] if options is not None else None
        try:
            fielddefs.update_field(
                ui.site, actor, entity.name, name, label=_labels(values) or {"en": name}, description=values["description"], options=wanted
            )
        except RecordError as exc:
            exc = ui.explain(exc)
            errors = {}
            for detail in exc.details:
                errors.setdefault(_edit_key([str(part) for part in detail.get("loc", [])]), str(detail.get("msg", "")))
            other = [] if errors else [exc.message]
            status = exc.status
        else:
            return ui.redirect(f"/admin/fields/{entity.name}?changed={name}")
    return ui.render(
        "admin/field_edit.html", status_code=status,
        entity=entity, entity_plural=ui.label(entity.label_plural, entity.name), field=current,
        has_options=options is not None, values=values, errors=errors, other_errors=other, kind_names=kind_names(ui),
    )


def _edit_key(loc: list[str]) -> str:
    """Where an error about a field's definition is shown on the edit form."""
    if loc[:2] == ["schema", "description"] or loc[:1] == ["description"]:
        return "description"
    if loc[:1] in (["schema"], ["options"]):
        return "options"
    return "label_en"


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
