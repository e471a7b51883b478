"""Every hook a plugin can implement, one documented stub each.

Registration hooks return data and change nothing. Record hooks receive the
entity name and must filter on it themselves; there is no wildcard entity.
Hook arguments are passed by keyword, so an implementation may accept only the
arguments it needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click
    import sqlalchemy as sa
    from starlette.routing import BaseRoute

    from .dashboards import Widget
    from .entities import Action, Entity
    from .outbox import Event
    from .jobs import Job
    from .masking import Mask
    from .records import Actor
    from .site import Site
    from .tasks import TaskKind
    from .optionlists import OptionList
    from .timers import Timer

hookspec = pluggy.HookspecMarker("crm")
hookimpl = pluggy.HookimplMarker("crm")


# -- registration -----------------------------------------------------------


@hookspec
def register_settings_schema() -> dict[str, Any] | None:
    """Return the JSON Schema that validates this plugin's ``[plugins.NAME]`` table in ``crm.toml``.

    Unknown keys should be refused (``"additionalProperties": false``); defaults
    given in the schema are filled in.
    """


@hookspec
def register_entities() -> list[Entity] | None:
    """Return the :class:`~kernel.entities.Entity` definitions this plugin owns."""


@hookspec
def register_entity_actions() -> dict[str, list[Action]] | None:
    """Return actions to add to entities other plugins own: ``{"contacts": [Action("verify", …)]}``.

    They join the entity's own actions everywhere: ``POST /api/v1/E/{id}/NAME``, its
    ``E.NAME`` permission, the record page's buttons and OpenAPI; they vanish when this
    plugin is disabled. An entity that is not enabled is passed over; a name the entity
    already has is an error at start-up.
    """


@hookspec
def scan_file(site: Site, filename: str, content_type: str, data: bytes) -> str | None:
    """Check a file before it is attached to a record (:mod:`kernel.files`); return a reason to refuse it.

    ``content_type`` is the one read from the bytes. Return ``None`` to let it through;
    any reason refuses the upload with a 422 naming it, and nothing is stored. For an
    antivirus bridge (clamd) or a policy of your own (no spreadsheets with macros).
    """


@hookspec
def register_migrations() -> str | None:
    """Return the directory of this plugin's Alembic versions (branch label = plugin name)."""


@hookspec
def register_jobs() -> list[Job] | None:
    """Return the periodic :class:`~kernel.jobs.Job` objects this plugin runs (named ``plugin.job``)."""


@hookspec
def register_task_kinds() -> list[TaskKind] | None:
    """Return the :class:`~kernel.tasks.TaskKind` objects this plugin runs as background tasks (named ``plugin.kind``).

    Queue one with :func:`kernel.enqueue_task`; ``crm serve`` (SQLite) or ``crm worker`` calls its
    ``run(context)`` once per attempt, outside any transaction. A disabled plugin's queued tasks
    wait until it is enabled again.
    """


@hookspec
def register_timers() -> list[Timer] | None:
    """Return the per-record :class:`~kernel.timers.Timer` objects this plugin fires, for its own
    entities or another's (require the plugin that has it). See :mod:`kernel.timers`."""


@hookspec
def register_dashboard_widgets() -> list[Widget] | None:
    """Return the :class:`~kernel.dashboards.Widget` objects this plugin adds to dashboards."""


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add subcommands to the ``crm`` command line with ``cli.add_command(...)``."""


@hookspec
def register_routes() -> list[BaseRoute] | None:
    """Return Starlette routes served under ``/api/v1/plugins/NAME`` while this plugin is enabled.

    ``Route("/stats", stats)`` of a plugin named ``acme`` answers ``GET /api/v1/plugins/acme/stats``.
    Every request is authenticated before it reaches a route: ``request.state.actor``
    holds the :class:`~kernel.records.Actor` and ``request.app.state.site`` the site.
    Raise :class:`~kernel.errors.RecordError` subclasses for refusals; they become the
    API's error envelope; read a JSON body with :func:`kernel.read_json_object` (it refuses
    anything but an object, naming ``body``). A disabled plugin's routes answer 404 at once.
    """


@hookspec
def register_public_routes() -> list[BaseRoute] | None:
    """Return Starlette routes anonymous visitors reach, under ``/public/NAME`` while this plugin is enabled.

    ``Route("/quote", quote, methods=["GET", "POST"])`` of plugin ``acme`` answers
    ``/public/acme/quote`` with no sign-in. ``request.state.actor`` is an external actor
    (channel ``public``, no user, no permission): grant the route exactly what it needs,
    ``request.state.actor.granting("acme_quotes.create")``, and write through
    ``request.app.state.site.records``. Posts are refused (403) unless they come from the
    site's own origin or ``[crm] public_origins``, counted per IP in the database (429),
    and bodies are capped; limit a route harder with :func:`kernel.rate_limit`. A refusal raised by the route
    answers the API's JSON error envelope.
    A disabled plugin's public routes answer 404 at once; ``/public/forms`` is the kernel's
    (admins' forms), so a plugin named ``forms`` cannot have public routes.
    """


# -- records: extra checks ---------------------------------------------------------


@hookspec
def find_duplicates(site: Site, conn: sa.Connection, entity: str, rows: list[dict[str, Any]]) -> list[list[tuple[str, int]]] | None:
    """Say which stored records look like each of ``rows``, candidate ``entity`` records not inserted yet.

    ``rows`` are a batch: one row for a create from the API or a form, up to a few
    hundred for an import, partial values for a check while typing. Each row holds
    the values as they would be stored (validated when the kernel is about to insert
    them; whatever the caller sent for a check); a row that is a stored record
    (a merge's comparison, say) carries its ``id``, never reported as its own duplicate.

    Return a list aligned with ``rows`` (one list per row, empty for none) of
    ``(entity, id)`` pairs: stored records of any entity (a new record may look like
    a stored record of another entity), plus ``(kernel.BATCH_ROW, i)`` for an earlier row ``i`` of the same batch
    that looks alike (compare the batch with itself: the kernel cannot). Answer for
    the whole batch in one or a few queries, never one per row. ``None`` when this
    plugin does not judge ``entity``. Example for three rows, the third repeating the
    first's phone, the first looking like stored note 12::

        [[("notes", 12)], [], [("notes", 12), (BATCH_ROW, 0)]]

    The kernel merges every plugin's answer and keeps only what the caller may read:
    others are counted, never named (``{"code": "duplicate", "ids": [12], "hidden": 1}``).
    It asks from ``site.records`` (``create``/``create_many`` with ``on_duplicate``, and
    ``site.records.find_duplicates(actor, entity, rows)``), so the API, the web form,
    imports and jobs get the same answer.
    """


# -- authorization --------------------------------------------------------------


@hookspec
def register_permissions() -> list[dict[str, Any]] | None:
    """Return permission declarations: ``{"name": "E.ACTION", "label": {...}, "roles": [...]}``.

    The kernel already derives ``E.create``, ``E.read``, ``E.update``, ``E.delete``,
    ``E.ACTION`` for each entity action and ``E.assign`` for owned entities, with
    default grants for the built-in roles; declare extra permissions, or a derived
    name to replace its default roles. ``roles`` lists role names, a read permission
    of an owned entity may carry a record scope: ``"sales_rep:own"``,
    ``"sales_manager:team"``, ``"executive"`` (= ``all``). See :mod:`kernel.permissions`.
    """


@hookspec
def authorize(site: Site, actor: Actor, entity: str, action: str, record: dict[str, Any] | None) -> bool | None:
    """Say whether ``actor`` may perform ``action`` (``create``, ``read``, ``update``, ``delete``,
    ``assign``, ``history`` — read a record's history and activity — or an action name) on ``entity``
    (and on ``record`` when there is one).

    Return ``False`` to refuse, ``True`` to allow, ``None`` for no opinion. Any
    ``False`` refuses the operation. The kernel's own answer checks the actor's
    role for the permission ``entity.action``.
    """


@hookspec
def record_filter(site: Site, actor: Actor, entity: str, table: sa.Table) -> sa.ColumnElement[bool] | None:
    """Return a SQL condition limiting which rows of ``entity`` ``actor`` may see, or ``None``.

    Conditions from all plugins are combined with AND and applied inside the
    query for lists, counts, gets, updates, deletes and actions, so a record
    outside them is simply not found. The kernel's own condition is the role's
    record scope (own / team / all) OR'ed with every ``record_rules`` answer.
    """


@hookspec
def record_rules(site: Site, actor: Actor, entity: str, table: sa.Table) -> sa.ColumnElement[bool] | None:
    """Return an extra SQL condition under which ``actor`` may also see rows of an owned ``entity``.

    Answers are OR'ed with the role's record scope (``own`` or ``team``): a rule
    widens what a user sees, e.g. the records of a shared list the user is a
    member of. Not consulted for a role whose scope is ``all``, nor for an
    entity without an owner field. To narrow what everyone sees, use ``record_filter``.
    """


@hookspec
def register_record_rule_descriptions() -> list[dict[str, Any]] | None:
    """Describe, in words, the rules this plugin's ``record_rules`` and ``record_filter`` apply.

    SQL conditions cannot be shown to a person, so the admin page "Record rules"
    (``/admin/record-rules``) lists these descriptions next to the role scopes.
    Return one dict per rule::

        {"entity": "notes",
         "label": {"en": "Reps also see notes shared with them or their team",
                   "zh_CN": "销售代表还能看到共享给本人或本团队的笔记"},
         "combine": "or"}

    ``entity`` names the entity the rule applies to; ``label`` is the sentence shown
    (``en`` and ``zh_CN``); ``combine`` is ``"or"`` for a ``record_rules`` rule that
    widens the role's scope (the default) or ``"and"`` for a ``record_filter`` that
    narrows what everyone sees. Optional: a plugin without rules needs no implementation.
    Registration only: return data, change nothing.
    """


# -- record lifecycle ---------------------------------------------------------


@hookspec
def before_create(site: Site, conn: sa.Connection, actor: Actor, entity: str, values: dict[str, Any]) -> None:
    """Called before a record of ``entity`` is inserted; ``values`` may be changed in place.

    Raise :class:`~kernel.errors.Vetoed` to refuse the write with a reason.
    """


@hookspec
def after_create(site: Site, conn: sa.Connection, actor: Actor, entity: str, record: dict[str, Any]) -> None:
    """Called after a record was inserted, inside the same transaction; raising undoes the write."""


@hookspec
def before_update(
    site: Site, conn: sa.Connection, actor: Actor, entity: str, record: dict[str, Any], changes: dict[str, Any]
) -> None:
    """Called before ``record`` is updated with ``changes`` (which may be changed in place).

    Raise :class:`~kernel.errors.Vetoed` to refuse the write with a reason.
    """


@hookspec
def after_update(
    site: Site,
    conn: sa.Connection,
    actor: Actor,
    entity: str,
    record: dict[str, Any],
    changes: dict[str, tuple[Any, Any]],
) -> None:
    """Called after an update, inside the same transaction; ``changes`` maps field to ``(old, new)``."""


@hookspec
def before_update_many(
    site: Site, conn: sa.Connection, actor: Actor, entity: str, records: list[dict[str, Any]], changes: list[dict[str, Any]]
) -> None:
    """Called once by ``site.records.update_many`` before the batch is written: ``changes[i]`` is for ``records[i]``.

    Change a ``changes[i]`` in place, or raise :class:`~kernel.errors.Vetoed` to refuse the
    whole batch. Look at the batch with one or a few queries, never one per record. A plugin
    that implements ``before_update`` but not this hook has ``before_update`` called once per record.
    """


@hookspec
def after_update_many(
    site: Site, conn: sa.Connection, actor: Actor, entity: str, records: list[dict[str, Any]], changes: list[dict[str, tuple[Any, Any]]]
) -> None:
    """Called once by ``site.records.update_many`` after the batch was written, in its transaction.

    ``records`` are the records changed, as stored; ``changes[i]`` maps field to ``(old, new)``
    for ``records[i]``. Raising undoes the whole batch. A plugin that implements
    ``after_update`` but not this hook has ``after_update`` called once per record.
    """


@hookspec
def on_event(site: Site, event: Event) -> None:
    """Called after commit, outside any transaction, once per event of a committed write (:mod:`kernel.outbox`).

    ``event.name`` is ``ENTITY.created|updated|deleted|restored|transition|ACTION``; filter on
    it. Delivery is at least once, in order per record: raise to have the event retried with
    backoff (later events of the same record wait for it; other records' do not), and make
    the handling idempotent by ``event.id``, the same on every delivery. After several failed
    attempts the event becomes a dead letter an admin can retry (``GET /api/v1/outbox/dead``).
    Write with ``site.records`` (each write is its own transaction); for work that must
    happen or fail with the write itself, use the ``after_*`` hooks instead.
    """


@hookspec
def before_delete(site: Site, conn: sa.Connection, actor: Actor, entity: str, record: dict[str, Any]) -> None:
    """Called before ``record`` is deleted. Raise :class:`~kernel.errors.Vetoed` to refuse."""


@hookspec
def after_delete(site: Site, conn: sa.Connection, actor: Actor, entity: str, record: dict[str, Any]) -> None:
    """Called after a delete, inside the same transaction; raising undoes the delete."""


@hookspec
def before_delete_many(site: Site, conn: sa.Connection, actor: Actor, entity: str, records: list[dict[str, Any]]) -> None:
    """Called once before a batch of ``entity`` records is deleted (``site.records.delete_many``, or
    ``delete`` with a batch of one). Raise :class:`~kernel.errors.Vetoed` to refuse the whole batch.

    A plugin that implements this hook is not called through ``before_delete`` for these records
    (answer the batch in one or a few queries); a plugin that implements only ``before_delete`` is
    called once per record. Rows that go to the bin with their parent (``deleted_with_parent``) come
    as a batch of their own entity.
    """


@hookspec
def after_delete_many(site: Site, conn: sa.Connection, actor: Actor, entity: str, records: list[dict[str, Any]]) -> None:
    """Called once after a batch of ``entity`` records went to the recycle bin, inside the same
    transaction; raising undoes the delete. Replaces ``after_delete`` for a plugin implementing both."""


@hookspec
def before_restore(site: Site, conn: sa.Connection, actor: Actor, entity: str, records: list[dict[str, Any]]) -> None:
    """Called before ``records`` of ``entity`` come back from the recycle bin (``site.records.restore``),
    each with its id and every stored value (hidden ones too), as it was deleted.

    The create hooks are not called: a restored record is no new input (its values were checked
    when written). Raise :class:`~kernel.errors.Conflict` (a value taken meanwhile, naming the field)
    or :class:`~kernel.errors.Vetoed` to refuse; the kernel itself checks unique columns and the
    records a restored row refers to.
    """


@hookspec
def after_restore(site: Site, conn: sa.Connection, actor: Actor, entity: str, records: list[dict[str, Any]]) -> None:
    """Called after ``records`` of ``entity`` were put back, inside the same transaction: rebuild
    what this plugin derives from a record (an index table, a counter), as ``after_create`` does."""


@hookspec
def before_transition(
    site: Site, conn: sa.Connection, actor: Actor, entity: str, record: dict[str, Any], from_state: str | None, to_state: str
) -> None:
    """Called before a record of ``entity`` with a state machine (:mod:`kernel.states`) moves from
    ``from_state`` (``None`` on create) to ``to_state``, after the kernel's own checks passed.

    ``record`` holds the values as they would be after the write (no ``id`` on create).
    Raise :class:`~kernel.errors.Vetoed` (422), :class:`~kernel.errors.Conflict` (409) or
    :class:`~kernel.errors.Forbidden` (403) to refuse the move with a reason, e.g. a guard
    waiting for an approver. Change nothing here: react in ``record_transition``.
    """


@hookspec
def record_transition(site: Site, conn: sa.Connection, actor: Actor, entity: str, event: dict[str, Any]) -> None:
    """Called once per state transition of a record of ``entity``, inside the write's transaction,
    after its state event was stored; raising undoes the whole write.

    ``event`` is the ``kernel_state_events`` row: ``entity``, ``record_id``, ``set_key``,
    ``from_state`` (``None`` for the state a record was created in), ``to_state``, ``kind``
    (``open``/``won``/``lost``/``closed``), ``actor_id``, ``actor``, ``at``, ``seconds`` (time
    in ``from_state``; ``None`` on create) and ``snapshot`` (the fields the entity names). It
    is also called for records moved when an admin removes their state.
    """


@hookspec
def after_plugin_enabled(site: Site, name: str) -> None:
    """Called once in the process that enabled plugin ``name``, after its migrations ran."""


# -- web UI -----------------------------------------------------------------------


@hookspec
def register_menu_items() -> list[dict[str, Any]] | None:
    """Return extra navigation entries for the web UI (every enabled entity already has one).

    Each entry is a dict: ``{"label": {"en": "Board", "zh_CN": "看板"}, "url": "/r/notes/kanban"}``
    plus optional ``"order"`` (entity entries use 100; lower comes first), ``"section"``
    (``"main"`` or ``"admin"``) and ``"permission"`` (e.g. ``"notes.read"``: hidden from
    users without it). Entries vanish as soon as the plugin is disabled.
    """


@hookspec
def record_activity(
    site: Site, conn: sa.Connection, actor: Actor, entity: str, record_id: int, limit: int
) -> list[dict[str, Any]] | None:
    """Return up to ``limit`` of the newest entries this plugin adds to a record's activity timeline.

    The timeline is the "Activity" tab of the record's detail page (``/r/ENTITY/ID``); the
    kernel already shows the record's own audit entries there, so return only what
    happened elsewhere (a follow-up written on a customer, an order placed). Each entry is
    ``{"at": datetime, "kind": "followup", "title": "...", "entity": "followups",
    "record_id": 7, "data": {...}}``: ``at`` timezone-aware, ``kind`` a short word shown
    as a badge, ``entity``/``record_id`` the record the entry links to (or ``None``),
    ``data`` JSON-able. The record is one ``actor`` may see; leave out rows ``actor`` may
    not. Return ``None`` for entities this plugin does not know.
    """


@hookspec
def register_template_dirs() -> list[str] | None:
    """Return directories of Jinja2 templates that override or extend the web UI's.

    A file there named like a kernel template (``list.html``, ``detail.html``,
    ``form.html``, ``kanban.html``…) replaces it; one under a folder named for an
    entity (``notes/list.html``) replaces it for that entity only. Extend the
    kernel's original with ``{% extends "kernel:list.html" %}`` and override its blocks.
    """


@hookspec
def after_demo_seeded(site: Site, actor: Actor) -> None:
    """Called by ``crm demo`` and ``crm serve --demo`` once the demo admin, teams and users exist.

    Add this plugin's demo records through ``site.records`` as ``actor``, only those
    not there yet (seeding twice must change nothing), with names in Chinese and
    English so the UI shows both. The demo users are found with
    ``site.records.list(actor, "users")`` (reps have the role ``sales_rep``). Fill
    every page and widget the plugin offers, dated around ``site.clock.now()``
    (something due today, something overdue, history for the charts), and run the
    plugin's own jobs if a page shows their result. See docs/building-blocks.md.
    """


@hookspec
def register_pages() -> list[BaseRoute] | None:
    """Return Starlette routes served as web UI pages under ``/p/NAME`` while this plugin is enabled.

    ``Route("/board", board)`` of plugin ``notes`` answers ``GET /p/notes/board``, for
    signed-in users only. Render inside the UI's layout with
    ``kernel.ui.render(request, "notes/board.html", **context)`` (the template
    usually ``{% extends "kernel:base.html" %}`` and fills ``{% block main %}``); read
    who is acting with ``kernel.ui.ui_of(request).actor``; a handler of a POST must
    call ``await kernel.ui.check_form(request)`` first. Write through ``site.records``.
    Add a menu entry for the page with ``register_menu_items``.
    """


@hookspec
def register_import_synonyms() -> dict[str, dict[str, list[str]]] | None:
    """Return other headers that name fields in files exported by other systems.

    ``{"notes": {"title": ["标题名称", "Subject"], "custom.mood": ["心情"]}}``:
    entity → field key (``name``, or ``custom.NAME``) → headers, in any language. An import
    matches a column by the field's name, then its labels, then these synonyms (ignoring case,
    width, spaces and underscores); a header two plugins give to different fields is
    ambiguous and left for the user to choose. A plugin may name another plugin's entities.
    """


@hookspec
def register_natural_keys() -> dict[str, list[str]] | None:
    """Return, per entity, columns besides ``id`` that name one of its records to a person.

    ``{"projects": ["code", "name"]}``. An import column that references ``projects`` may then
    hold a project's code or name instead of its id: every such value of a batch is looked up
    at once (within the importing user's record rules), and a value that names no record, or
    several, is reported on its row. Without an answer, an entity's natural keys are its
    unique text columns and its title column (``name``, ``title``, ``email``…).
    """


@hookspec
def register_option_lists() -> list[OptionList] | None:
    """Return the :class:`~kernel.optionlists.OptionList` objects this plugin declares, with their
    default options; a field takes its choices from one with ``"x-options": "LIST"`` in its
    JSON Schema. Admins edit the options at run time (see :mod:`kernel.optionlists`)."""


@hookspec
def register_masks() -> list[Mask] | None:
    """Return the :class:`~kernel.masking.Mask` objects this plugin declares: fields of an entity (its
    own or one of a plugin it requires) hidden from some actors on some records, on every read path.
    See :mod:`kernel.masking`."""


# -- list and record pages (issue 15) ----------------------------------------------


@hookspec
def register_menu_sections() -> list[dict[str, Any]] | None:
    """Return the menu sections this plugin's entries go under, each
    ``{"key": "sales", "label": {"en": "Sales", "zh_CN": "销售"}, "order": 10}``.

    An entity names its section with ``Entity(menu_section="sales")``, a menu item with
    ``"section": "sales"``. Sections are shown by ``order`` (lower first; the kernel's own
    ``system`` section, for the admin pages, is 900), then by key — never by label, so
    the menu reads the same in every language. Two plugins may declare the same key (the
    first enabled plugin's labels and order win); a section with no entry the user may
    open is not shown.
    """


@hookspec
def extra_record_log_forms(site: Site, actor: Actor, entity: str, record: dict[str, Any]) -> list[dict[str, Any]] | None:
    """Return quick "log activity" boxes for the page of ``record`` (of ``entity``).

    Each box is ``{"entity": "followups", "label": {"en": "Log a follow-up", "zh_CN": "记录跟进"},
    "fields": ["method", "content", "next_at"], "values": {"customer_id": 7}}``: a small form
    of the named input fields of ``entity`` (built-in names or ``"custom.NAME"``) that creates
    a record through the one write path, with ``values`` sent as they are (the link to this
    record). It is shown only to users who may create such records; after saving, the user
    is back on this record's page; a refused value shows the full form with the error.
    Return ``None`` for entities this plugin does not know.
    """
