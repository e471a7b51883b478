"""What a list page asks for: filters, search, sort and page, read from the query string.

Filter parameters are ``f.FIELD`` (equality) and ``f.FIELD__gte`` / ``f.FIELD__lte``
(ranges), for built-in and custom fields alike; they are handed to
``Records.list`` exactly as the REST API hands its own. ``cols=`` (comma-separated
field keys) picks the columns and ``size=`` (20, 50 or 100) the rows per page; a saved
view keeps both (:mod:`kernel.savedviews`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timezone
from typing import Any
from urllib.parse import urlencode

from ...errors import ValidationError
from ...fielddescriptions import FormField
from ...parsing import optional_int, parse_date
from ...savedviews import parse_query

PAGE_SIZE = 20
PAGE_SIZES = (20, 50, 100)
RANGE_WIDGETS = ("date", "datetime", "integer", "number", "money")
CHOICE_WIDGETS = ("select", "multiselect", "checkbox")
TEXT_WIDGETS = ("text", "email", "tel", "url", "reference")
MAX_COLUMNS = 7
#: custom fields a list shows by default after its default columns (the chooser offers the rest)
DEFAULT_CUSTOM_COLUMNS = 2
#: page numbers shown on each side of the current page
PAGE_WINDOW = 2
SHORT = ("textarea", "json", "password", "list")


def is_id(form_field: FormField) -> bool:
    """An ``*_id`` number whose entity is not there (a disabled plugin's): no range filter, no column."""
    return form_field.widget == "integer" and not form_field.custom and form_field.name.endswith("_id")


def filterable(fields: list[FormField]) -> list[FormField]:
    """Fields the filter panel offers: ranges, choices, links (picked by name), and custom text
    (built-in text is searched). A record id is never offered as a numeric range."""
    return [
        f for f in fields
        if not is_id(f)
        and (f.widget in RANGE_WIDGETS + CHOICE_WIDGETS or f.widget == "reference" or (f.custom and f.widget in TEXT_WIDGETS))
    ]


def sortable(form_field: FormField) -> bool:
    return form_field.widget not in ("multiselect", "list", "textarea", "json", "password")


def list_columns(fields: list[FormField], title: str | None = None) -> list[FormField]:
    """The kernel's own pick of columns: the naming field and short built-in fields (at most
    ``MAX_COLUMNS``), then up to ``DEFAULT_CUSTOM_COLUMNS`` custom fields after them, so that
    adding custom fields never pushes a built-in column out."""
    short = [f for f in fields if f.widget not in SHORT and not is_id(f)]
    short.sort(key=lambda f: f.name != title or f.custom)
    built_in = [f for f in short if not f.custom][:MAX_COLUMNS]
    return built_in + [f for f in short if f.custom][:DEFAULT_CUSTOM_COLUMNS]


def column_choices(fields: list[FormField]) -> list[FormField]:
    """Every field the column chooser offers."""
    return [f for f in fields if f.widget not in ("password", "json") and not is_id(f)]


def chosen_columns(entity: Any, fields: list[FormField], title: str | None, chosen: list[str]) -> list[FormField]:
    """The list's columns: the user's choice (``cols=`` keys), else the entity's declared
    :attr:`~kernel.entities.Entity.list_columns` followed by custom fields, else the kernel's pick.
    The naming field always comes first, since it links to the record."""
    by_key = {f.key: f for f in column_choices(fields)}
    if chosen:
        found = [by_key[k] for k in dict.fromkeys(chosen) if k in by_key]
    elif entity.list_columns:
        declared = [by_key[k] for k in entity.list_columns if k in by_key]
        extra = [f for f in fields if f.custom and f.widget not in SHORT and f.key not in entity.list_columns]
        found = declared + extra[:DEFAULT_CUSTOM_COLUMNS]
    else:
        return list_columns(fields, title)
    naming = by_key.get(title or "")
    if naming is not None and (not found or found[0] is not naming):
        found = [naming, *(f for f in found if f is not naming)]
    return found or list_columns(fields, title)


def page_numbers(page: int, pages: int, exact: bool) -> list[int | None]:
    """The page links of a pager: the first, a window around ``page``, the last when the total is
    exact (past a capped count, the last page is not known); ``None`` stands for a gap (…)."""
    shown = {1, *range(max(1, page - PAGE_WINDOW), min(pages, page + PAGE_WINDOW) + 1)}
    if exact:
        shown.add(pages)
    found: list[int | None] = []
    for number in sorted(shown):
        if found and number - (found[-1] or 0) > 1:
            found.append(None)
        found.append(number)
    return found


@dataclass
class ListRequest:
    q: str = ""
    sort: str = ""
    page: int = 1
    filters: dict[str, str] = field(default_factory=dict)  # "status" / "due__gte" → text
    columns: list[str] = field(default_factory=list)  # the chosen columns' keys (``cols=name,custom.x``)
    size: int = PAGE_SIZE  # rows per page, one of PAGE_SIZES

    @classmethod
    def parse(cls, params: Any) -> "ListRequest":
        filters = {}
        for key, value in params.multi_items():
            if key.startswith("f.") and isinstance(value, str) and value.strip() and "\x00" not in value:
                name = key[2:]
                several = name.endswith("__in") and name in filters  # a multiple select: one of these values
                filters[name] = f"{filters[name]},{value.strip()}" if several else value.strip()
        page_text = params.get("page", "1")
        page = optional_int(page_text, low=1, high=999_999) or 1
        q = params.get("q", "").strip().replace("\x00", "")
        sort = params.get("sort", "").strip()
        columns = [c.strip() for c in ",".join(params.getlist("cols"))[:1000].split(",") if c.strip()][:40]
        size = optional_int(params.get("size", ""), low=1, high=1000)
        size = size if size in PAGE_SIZES else PAGE_SIZE
        return cls(q=q[:200], sort=sort[:80], page=max(page, 1), filters=filters, columns=columns, size=size)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size

    def record_filters(self, fields: list[FormField], tzinfo: Any) -> dict[str, Any]:
        """``filters`` keyed as ``Records.list`` wants them (``custom.x`` → ``x``).

        A date typed into a date-time field's range becomes the start (``__gte``) or
        the end (``__lte``) of that day in the user's time zone.
        """
        moments = {f.key for f in fields if f.widget == "datetime"}
        trees = {f.key: f.extra["descendants"] for f in fields if f.extra.get("descendants")}
        found: dict[str, Any] = {}
        for key, value in self.filters.items():
            name, _, op = key.partition("__")
            if name in trees and op == "in":  # a province takes its cities (and theirs) with it
                picked = [v for v in value.split(",") if v]
                value = ",".join(dict.fromkeys(c for v in picked for c in (v, *trees[name].get(v, ()))))
            if name in moments and op in ("gte", "lte") and len(value) == 10:
                try:
                    day = datetime.combine(parse_date(value, []), time.max if op == "lte" else time.min, tzinfo)
                except ValidationError:
                    pass  # the filter itself answers that it is not a date
                else:
                    value = day.astimezone(timezone.utc).isoformat()
            found[key.removeprefix("custom.")] = value
        return found

    def query(self, **changes: Any) -> str:
        """This request's query string with ``changes`` applied (``None`` drops a key)."""
        values: dict[str, Any] = {
            "q": self.q, "sort": self.sort, "cols": ",".join(self.columns) or None,
            "size": self.size if self.size != PAGE_SIZE else None, "page": self.page if self.page > 1 else None,
        }
        values.update({f"f.{k}": v for k, v in self.filters.items()})
        values.update(changes)
        return urlencode({k: v for k, v in values.items() if v not in (None, "")})

    def sort_query(self, key: str) -> str:
        """The query that sorts by ``key``, or reverses it when it is already the sort."""
        name = key.removeprefix("custom.")
        return self.query(sort=f"-{name}" if self.sort == name else name, page=None)

    def sort_state(self, key: str) -> str:
        name = key.removeprefix("custom.")
        return "ascending" if self.sort == name else "descending" if self.sort == f"-{name}" else "none"

    def hidden(self, *dropped: str) -> list[tuple[str, str]]:
        """This request's parameters as ``(name, value)`` pairs for a GET form's hidden inputs,
        without ``dropped`` ones (the form's own) and the page."""
        pairs = [("q", self.q), ("sort", self.sort), ("cols", ",".join(self.columns)), ("size", str(self.size) if self.size != PAGE_SIZE else "")]
        pairs += [(f"f.{k}", v) for k, v in self.filters.items()]
        return [(k, v) for k, v in pairs if v and k not in dropped]

    @property
    def view_query(self) -> str:
        """This list as a saved view keeps it: search, sort, filters, columns and page size, never the page."""
        return parse_query(self.query(page=None))

    @property
    def active(self) -> bool:
        return bool(self.q or self.filters)
