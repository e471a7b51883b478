"""The UI's URL map, and the wrapper that turns refusals into pages.

``/`` dashboard · ``/login`` ``/logout`` ``/setup`` ``/lang`` · ``/account/password`` · ``/search`` · ``/inbox`` ·
``/background-tasks[/ID[/cancel]]`` · ``/trash`` · ``/trash/E/ID/restore`` ·
``/r/E`` list · ``/r/E/new`` · ``/r/E/kanban`` · ``/r/E/lookup`` · ``/r/E/duplicates`` · ``/r/E/bulk-delete`` ·
``/r/E/bulk-assign`` · ``/r/E/export`` · ``/r/E/import[/TOKEN]`` · ``/r/E/import/tasks/ID[/progress|/report.xlsx]`` · ``/r/E/views`` · ``/r/E/columns`` · ``/r/E/views/VIEW/delete`` ·
``/r/E/ID`` · ``/r/E/ID/edit`` · ``/r/E/ID/history`` · ``/r/E/ID/activity`` · ``/r/E/ID/inline`` · ``/r/E/ID/delete`` · ``/r/E/ID/act/ACTION`` ·
``/admin/plugins`` · ``/admin/fields[/E[/NAME[/edit]]]`` · ``/admin/users`` · ``/admin/teams`` ·
``/admin/roles[/NAME]`` · ``/admin/record-rules`` · ``/admin/audit[.csv]`` · ``/admin/settings[/SCOPE[/NAME/reset]]`` · ``/admin/sequences[/NAME]`` · ``/admin/states[/E[/KEY]]`` · ``/admin/forms[/new|/ID]`` · ``/admin/dashboards[/ROLE]`` · ``/admin/option-lists[/NAME[/options|/merge]]`` · ``/admin/outbox[/dead/ID/retry]`` · ``/p/PLUGIN/…`` (plugin pages) · ``/static/…``
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from ...errors import RecordError
from . import account, admin, admin_audit, admin_dashboards, admin_forms, admin_options, admin_outbox, admin_security, admin_sequences, admin_settings, admin_states, dashboard, inbox, list_views, records_views as records, shell
from . import files_views, import_views, recordpage, tasks_views, trash_views
from .. import assets
from .context import AdminRequired, LoginRequired
from .pages import PluginPages
from .refusals import refusal
from .session import CSRFRejected
from .templating import Templates

Endpoint = Callable[[Request], Awaitable[Response]]
STATIC = Path(__file__).resolve().parents[1] / "static"


def page(endpoint: Endpoint, *, public: bool = False) -> Endpoint:
    """Answer a refusal with a page: sign in first, set up first, or a 403/404 explanation. A form the
    page read is closed when it answers: an uploaded file's temporary copy is not left to the collector."""

    @functools.wraps(endpoint)
    async def wrapped(request: Request) -> Response:
        try:
            if not public and not shell.signed_in(request):
                raise LoginRequired()
            return await endpoint(request)
        except (LoginRequired, AdminRequired, CSRFRejected, RecordError) as exc:
            return refusal(request, exc)
        finally:
            await request.close()

    return wrapped


def ui_routes() -> list[BaseRoute]:
    get, both = ["GET"], ["GET", "POST"]
    return [
        Route("/", page(dashboard.dashboard_page), methods=get, name="ui:dashboard"),
        Route("/login", page(shell.login_page, public=True), methods=both, name="ui:login"),
        Route("/logout", page(shell.logout), methods=["POST"], name="ui:logout"),
        Route("/setup", page(shell.setup_page, public=True), methods=both, name="ui:setup"),
        Route("/lang", page(shell.switch_language, public=True), methods=both, name="ui:lang"),
        Route("/account/password", page(account.password_page), methods=both, name="ui:password"),
        Route("/search", page(inbox.search_page), methods=get, name="ui:search"),
        Route("/inbox", page(inbox.inbox_page), methods=both, name="ui:inbox"),
        Route("/background-tasks", page(tasks_views.tasks_page), methods=get, name="ui:tasks"),
        Route("/background-tasks/{id}", page(tasks_views.task_page), methods=get, name="ui:task"),
        Route("/background-tasks/{id}/cancel", page(tasks_views.cancel_task), methods=["POST"], name="ui:task_cancel"),
        Route("/trash", page(trash_views.trash_page), methods=get, name="ui:trash"),
        Route("/trash/{entity}/{id}/restore", page(trash_views.restore_page), methods=both, name="ui:restore"),
        Route("/r/{entity}", page(list_views.list_page), methods=get, name="ui:list"),
        Route("/r/{entity}/new", page(records.form_page), methods=both, name="ui:new"),
        Route("/r/{entity}/kanban", page(records.kanban_page), methods=both, name="ui:kanban"),
        Route("/r/{entity}/lookup", page(records.lookup), methods=get, name="ui:lookup"),
        Route("/r/{entity}/duplicates", page(records.duplicates_panel), methods=get, name="ui:duplicates"),
        Route("/r/{entity}/bulk-delete", page(records.bulk_delete), methods=["POST"], name="ui:bulk_delete"),
        Route("/r/{entity}/bulk-assign", page(list_views.bulk_assign), methods=["POST"], name="ui:bulk_assign"),
        Route("/r/{entity}/export", page(list_views.export), methods=["POST"], name="ui:export"),
        Route("/r/{entity}/views", page(list_views.save_view), methods=["POST"], name="ui:save_view"),
        Route("/r/{entity}/columns", page(list_views.save_columns), methods=["POST"], name="ui:save_columns"),
        Route("/r/{entity}/views/{view_id}/delete", page(list_views.delete_view), methods=both, name="ui:delete_view"),
        Route("/r/{entity}/import", page(import_views.upload_page), methods=both, name="ui:import"),
        Route("/r/{entity}/import/tasks/{task}", page(import_views.task_page), name="ui:import_task"),
        Route("/r/{entity}/import/tasks/{task}/progress", page(import_views.task_progress), name="ui:import_progress"),
        Route("/r/{entity}/import/tasks/{task}/report.xlsx", page(import_views.task_report), name="ui:import_report"),
        Route("/r/{entity}/import/{token}", page(import_views.review_page), methods=both, name="ui:import_review"),
        Route("/r/{entity}/{id}", page(records.detail_page), methods=get, name="ui:detail"),
        Route("/r/{entity}/{id}/edit", page(records.form_page), methods=both, name="ui:edit"),
        Route("/r/{entity}/{id}/history", page(records.history_panel), methods=get, name="ui:history"),
        Route("/r/{entity}/{id}/activity", page(records.activity_panel), methods=get, name="ui:activity"),
        Route("/r/{entity}/{id}/files", page(files_views.files_panel), methods=both, name="ui:files"),
        Route("/r/{entity}/{id}/files/{file_id}/delete", page(files_views.remove_file), methods=["POST"], name="ui:file_remove"),
        Route("/r/{entity}/{id}/inline", page(recordpage.inline_edit), methods=["POST"], name="ui:inline_edit"),
        Route("/r/{entity}/{id}/delete", page(records.delete_page), methods=both, name="ui:delete"),
        Route("/r/{entity}/{id}/act/{action}", page(records.action_page), methods=both, name="ui:action"),
        Route("/admin/plugins", page(admin.plugins_page), methods=both, name="ui:plugins"),
        Route("/admin/fields", page(admin.fields_index), methods=get, name="ui:fields_index"),
        Route("/admin/fields/{entity}", page(admin.fields_page), methods=both, name="ui:fields"),
        Route("/admin/fields/{entity}/_preview", page(admin.field_preview), methods=["POST"], name="ui:field_preview"),
        Route("/admin/fields/{entity}/{name}", page(admin.field_change), methods=["POST"], name="ui:field_change"),
        Route("/admin/fields/{entity}/{name}/edit", page(admin.field_edit), methods=both, name="ui:field_edit"),
        Route("/admin/users", page(admin_security.users_page), methods=both, name="ui:admin_users"),
        Route("/admin/teams", page(admin_security.teams_page), methods=both, name="ui:admin_teams"),
        Route("/admin/roles", page(admin_security.roles_page), methods=both, name="ui:admin_roles"),
        Route("/admin/roles/{name}", page(admin_security.role_page), methods=both, name="ui:admin_role"),
        Route("/admin/record-rules", page(admin_security.record_rules_page), methods=both, name="ui:record_rules"),
        Route("/admin/audit", page(admin_audit.audit_page), methods=get, name="ui:audit"),
        Route("/admin/audit.csv", page(admin_audit.audit_csv), methods=get, name="ui:audit_csv"),
        Route("/admin/settings", page(admin_settings.settings_page), methods=get, name="ui:settings"),
        Route("/admin/settings/{scope}", page(admin_settings.save_settings), methods=["POST"], name="ui:settings_save"),
        Route("/admin/settings/{scope}/{name}/reset", page(admin_settings.reset_setting), methods=["POST"], name="ui:settings_reset"),
        Route("/admin/sequences", page(admin_sequences.sequences_page), methods=get, name="ui:sequences"),
        Route("/admin/sequences/{name}", page(admin_sequences.save_sequence), methods=["POST"], name="ui:sequence_save"),
        Route("/admin/dashboards", page(admin_dashboards.dashboards_page), methods=get, name="ui:dashboards"),
        Route("/admin/dashboards/{role}", page(admin_dashboards.save_dashboard), methods=["POST"], name="ui:dashboard_save"),
        Route("/admin/option-lists", page(admin_options.lists_page), methods=get, name="ui:option_lists"),
        Route("/admin/option-lists", page(admin_options.create_list), methods=["POST"], name="ui:option_list_create"),
        Route("/admin/option-lists/{name}", page(admin_options.list_page), methods=get, name="ui:option_list"),
        Route("/admin/option-lists/{name}", page(admin_options.save_options), methods=["POST"], name="ui:option_list_save"),
        Route("/admin/option-lists/{name}/options", page(admin_options.add_option), methods=["POST"], name="ui:option_list_add"),
        Route("/admin/option-lists/{name}/merge", page(admin_options.merge_options), methods=["POST"], name="ui:option_list_merge"),
        Route("/admin/states", page(admin_states.states_index), methods=get, name="ui:states"),
        Route("/admin/states/{entity}", page(admin_states.states_page), methods=both, name="ui:states_entity"),
        Route("/admin/states/{entity}/{key}", page(admin_states.state_change), methods=["POST"], name="ui:state_change"),
        Route("/admin/outbox", page(admin_outbox.outbox_page), methods=get, name="ui:outbox"),
        Route("/admin/outbox/dead/{id}/retry", page(admin_outbox.retry_letter), methods=["POST"], name="ui:outbox_retry"),
        Route("/admin/forms", page(admin_forms.forms_page), methods=get, name="ui:admin_forms"),
        Route("/admin/forms/new", page(admin_forms.form_edit_page), methods=both, name="ui:admin_form_new"),
        Route("/admin/forms/{id}", page(admin_forms.form_edit_page), methods=both, name="ui:admin_form"),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
    ]


def mount_ui(app: Starlette) -> None:
    """Add the browser UI to an app built by :func:`kernel.web.app.create_app`."""
    app.state.ui_templates = Templates()
    plugin_pages = Mount("/p/{plugin}", app=PluginPages(app.state.site), name="ui:plugin_pages")
    plugin_files = Mount(assets.PREFIX, app=assets.PluginAssets(app.state.site), name="ui:plugin_assets")
    app.router.routes.extend([plugin_files, *ui_routes(), plugin_pages])  # plugin files before /static
