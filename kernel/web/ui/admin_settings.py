"""``/admin/settings``: the kernel's and each enabled plugin's settings, changed at run time.

Each scope (``crm``, then one per enabled plugin with settings) is one form
generated from its JSON Schema; a save goes through
:func:`kernel.systemsettings.change`, which checks the values exactly as
``crm.toml`` is checked, so an error appears next to its field and nothing is
stored. Every setting says where its value comes from, and a changed one can go
back to the file's value.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ... import systemsettings
from ...errors import RecordError, ValidationError
from ...parsing import parse_decimal, parse_int
from .context import UI, ui_for
from ...fielddescriptions import humanize
from .forms import errors_by_field
from .session import check_csrf


@dataclass(frozen=True)
class SettingInput:
    """One setting as a form input."""

    scope: str
    name: str
    label: str
    description: str
    widget: str  # checkbox, select, integer, number, text, list, json
    schema: dict[str, Any]
    choices: tuple[tuple[str, str], ...] = ()

    @property
    def input_id(self) -> str:
        return f"set-{self.scope}-{self.name}"


def setting_input(ui: UI, scope: str, name: str, schema: dict[str, Any]) -> SettingInput:
    kind = schema.get("type")
    label = ui.label(schema.get("x-label")) or schema.get("title") or humanize(name)
    description = ui.label(schema.get("x-description")) or schema.get("description") or ""
    if "enum" in schema:
        labels = schema.get("x-labels", {})
        choices = tuple((str(v), ui.label(labels.get(v), str(v)) or str(v)) for v in schema["enum"])
        return SettingInput(scope, name, label, description, "select", schema, choices)
    widget = {"boolean": "checkbox", "integer": "integer", "number": "number", "string": "text"}.get(kind or "", "json")
    if kind == "array" and schema.get("items", {}).get("type") == "string":
        widget = "list"
    return SettingInput(scope, name, label, description, widget, schema)


def shown_value(item: SettingInput, value: Any) -> Any:
    """What the input shows for ``value``."""
    if item.widget == "list" and isinstance(value, list):
        return ", ".join(map(str, value))
    if item.widget == "json":
        return json.dumps(value, ensure_ascii=False)
    return value


def read_input(item: SettingInput, form: Any) -> tuple[bool, Any]:
    """``(present, value)``; text that is not a number stays text, so the schema check explains it."""
    key = item.name
    if item.widget == "checkbox":
        return (True, key in form) if f"{key}.present" in form else (False, None)
    if key not in form:
        return False, None
    text = str(form.get(key) or "").strip()
    if item.widget == "integer":
        try:
            return True, parse_int(text, [key])
        except ValidationError:
            return True, text
    if item.widget == "number":
        try:
            number = parse_decimal(text, [key])
        except ValidationError:
            return True, text
        return True, int(number) if number == number.to_integral_value() and "." not in text else float(number)
    if item.widget == "list":
        return True, [part.strip() for part in re.split(r"[,，\n]", text) if part.strip()]
    if item.widget == "json":
        try:
            return True, json.loads(text)
        except ValueError:
            return True, text
    return True, text


def _scopes(ui: UI, typed: dict[str, Any] | None = None, errors: dict[str, str] | None = None, failed: str | None = None) -> list[dict[str, Any]]:
    """Each scope with its inputs, values (as typed again after an error) and where each value comes from."""
    found = []
    for scope in systemsettings.describe(ui.site):
        name = scope["scope"]
        items = []
        for setting in scope["settings"]:
            item = setting_input(ui, name, setting["name"], setting["schema"])
            value = typed[setting["name"]] if failed == name and typed is not None and setting["name"] in typed else shown_value(item, setting["value"])
            error = (errors or {}).get(setting["name"]) if failed == name else None
            items.append({**setting, "input": item, "value": value, "error": error, "file_shown": shown_value(item, setting["file_value"])})
        title = ui.gettext("General") if name == systemsettings.CRM else ui.gettext("Plugin %(name)s", name=plugin_label(ui, name))
        found.append({"scope": name, "title": title, "items": items})
    return found


def plugin_label(ui: UI, name: str) -> str:
    """A plugin's name in the reader's language (its module's ``LABEL``), else its name."""
    info = ui.site.installed.get(name)
    return ui.label(getattr(info.module, "LABEL", None), name) if info is not None else name


async def settings_page(request: Request) -> Response:
    ui = ui_for(request)
    ui.require_admin()
    return _render(ui)


def _render(ui: UI, status_code: int = 200, **failure: Any) -> Response:
    return ui.render(
        "admin/settings.html",
        status_code=status_code,
        scopes=_scopes(ui, failure.get("typed"), failure.get("errors"), failure.get("failed")),
        other_errors=failure.get("other", []),
        failed=failure.get("failed"),
        read_only=systemsettings.read_only(ui.site),
        saved=ui.request.query_params.get("saved"),
    )


async def save_settings(request: Request) -> Response:
    """``POST /admin/settings/SCOPE``: store what changed in that scope's form."""
    ui = ui_for(request)
    actor = ui.require_admin()
    scope = request.path_params["scope"]
    form = await request.form()
    check_csrf(request, form)
    schema = systemsettings.schema_of(ui.site, scope)
    values: dict[str, Any] = {}
    typed: dict[str, Any] = {}
    for name, sub in schema.get("properties", {}).items():
        if sub.get("deprecated"):
            continue
        item = setting_input(ui, scope, name, sub)
        present, value = read_input(item, form)
        if present:
            values[name] = value
            typed[name] = value if item.widget == "checkbox" else str(form.get(name) or "")
    try:
        systemsettings.change(ui.site, actor, scope, values)
    except RecordError as exc:
        exc = ui.explain(exc)
        errors, other = errors_by_field(exc.details)
        return _render(ui, 422, typed=typed, errors=errors, other=other or ([] if errors else [exc.message]), failed=scope)
    return ui.redirect(f"/admin/settings?saved={scope}#scope-{scope}")


async def reset_setting(request: Request) -> Response:
    """``POST /admin/settings/SCOPE/NAME/reset``: back to ``crm.toml``'s value (or the default)."""
    ui = ui_for(request)
    actor = ui.require_admin()
    form = await request.form()
    check_csrf(request, form)
    scope, name = request.path_params["scope"], request.path_params["name"]
    try:
        systemsettings.reset(ui.site, actor, scope, name)
    except RecordError as exc:
        exc = ui.explain(exc)
        return _render(ui, exc.status, other=[exc.message], failed=scope)
    return ui.redirect(f"/admin/settings?saved={scope}#scope-{scope}")
