"""Look-alike records found when a record is created from a form, and the warning that names them.

The form's create asks ``site.records`` to warn about look-alikes (as
``POST /api/v1/E`` does), which names only records the user may read and
counts the others; the ids and the count go along to the detail page
(``?saved=1&duplicates=12,15&hidden=2``). The page reads the named records again
through ``site.records``, so an id in the address reveals nothing, and says in
words how many similar records the user cannot see.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ... import permissions
from ...errors import RecordError
from ...fielddescriptions import FormField
from .display import record_title

if TYPE_CHECKING:
    from ...entities import Entity
    from .context import UI

MAX_SHOWN = 20
_IDS = re.compile(r"^[1-9][0-9]{0,17}(,[1-9][0-9]{0,17})*$")


def warning_params(warnings: list[dict[str, Any]]) -> str:
    """``&duplicates=12,15&hidden=2`` for a create's duplicate warnings (``""`` when none)."""
    found = next((w for w in warnings if w.get("code") == "duplicate"), None)
    if found is None:
        return ""
    params = ""
    if found["ids"]:
        params += "&duplicates=" + ",".join(map(str, found["ids"][:MAX_SHOWN]))
    if found["hidden"]:
        params += f"&hidden={int(found['hidden'])}"
    return params


def hidden_count(text: str | None) -> int:
    """The ``?hidden=`` count of look-alikes the user cannot see (0 when absent or odd)."""
    return int(text) if text and text.isascii() and text.isdigit() and len(text) < 7 else 0


def parse_ids(text: str | None) -> list[int]:
    if not text or len(text) > 400 or not _IDS.match(text):
        return []
    return sorted({int(part) for part in text.split(",")})[:MAX_SHOWN]


def visible_duplicates(ui: UI, entity: Entity, record: dict[str, Any], text: str | None) -> list[dict[str, Any]]:
    """The records ``?duplicates=`` names that the user may see, each with its detail link and, where allowed, a merge link."""
    ids = [i for i in parse_ids(text) if i != record["id"]]
    if not ids:
        return []
    table = entity.table
    try:
        query = ui.site.records.list_query(ui.actor, entity.name, sort="id", limit=len(ids)).where(table.c.id.in_(ids))
    except RecordError:
        return []
    with ui.site.engine.connect() as conn:
        found = [dict(row._mapping) for row in conn.execute(query)]
    merge = entity.action("merge") is not None and permissions.allowed(ui.site, ui.actor, entity.name, "merge")
    return [
        {
            "id": other["id"],
            "title": record_title(entity, other),
            "url": f"/r/{entity.name}/{other['id']}",
            "merge_url": f"/r/{entity.name}/{record['id']}/act/merge?other_id={other['id']}" if merge else None,
        }
        for other in found
    ]


# -- while typing: the create form asks before anything is saved ---------------------------------


def while_typing(ui: UI, entity: Entity, fields: list[FormField], form: Any) -> dict[str, Any]:
    """What a half-typed new record looks like, for the create form (``GET /r/E/duplicates``): the
    readable look-alikes by name with their links, and how many others exist. Nothing is judged or
    stored; the plugins' ``find_duplicates`` compare whatever fields are filled in."""
    from .forms import read_form

    if not ui.view.pm.hook.find_duplicates.get_hookimpls():
        return {"found": [], "hidden": 0}
    row = read_form(fields, form, ui.tzinfo, creating=True)
    row.pop("custom", None)
    if not any(isinstance(v, str) and v.strip() for v in row.values()):
        return {"found": [], "hidden": 0}
    try:
        [lookalikes] = ui.site.records.find_duplicates(ui.actor, entity.name, [row])
    except RecordError:
        return {"found": [], "hidden": 0}
    ids = lookalikes.ids(entity.name)[:MAX_SHOWN]
    found = []
    if ids:
        query = ui.site.records.list_query(ui.actor, entity.name, sort="id", limit=len(ids)).where(entity.table.c.id.in_(ids))
        with ui.site.engine.connect() as conn:
            found = [{"id": r["id"], "title": record_title(entity, r), "url": f"/r/{entity.name}/{r['id']}"}
                     for r in (dict(row._mapping) for row in conn.execute(query))]
    return {"found": found, "hidden": lookalikes.hidden}
