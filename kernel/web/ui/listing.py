"""What a list page asks for: filters, search, sort and page, read from the query string.

Filter parameters are ``f.FIELD`` (equality) and ``f.FIELD__gte`` / ``f.FIELD__lte``
(ranges), for built-in and custom fields alike; they are handed to
``Records.list`` exactly as the REST API hands its own.
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
RANGE_WIDGETS = ("date", "datetime", "integer", "number", "money")
CHOICE_WIDGETS = ("select", "multiselect", "checkbox")
TEXT_WIDGETS = ("text", "email", "tel", "url", "reference")
MAX_COLUMNS = 7
def filterable(fields: list[FormField]) -> list[FormField]:
    """Fields the filter panel offers: ranges, choices, links, and custom text (built-in text is searched)."""
    return [
        f for f in fields
        if f.widget in RANGE_WIDGETS + CHOICE_WIDGETS or f.widget == "reference" or (f.custom and f.widget in TEXT_WIDGETS)
    ]


def sortable(form_field: FormField) -> bool:
    return form_field.widget not in ("multiselect", "list", "textarea", "json", "password")


def list_columns(fields: list[FormField], title: str | None = None) -> list[FormField]:
    """The columns of a list: the naming field, short built-in fields, then custom fields; at most ``MAX_COLUMNS``."""
    short = [f for f in fields if f.widget not in ("textarea", "json", "password", "list")]
    short.sort(key=lambda f: f.name != title or f.custom)
    built_in = [f for f in short if not f.custom]
    custom = [f for f in short if f.custom]
    keep_custom = custom[: max(2, MAX_COLUMNS - len(built_in))]
    return (built_in[: MAX_COLUMNS - len(keep_custom)] + keep_custom)[:MAX_COLUMNS]


@dataclass
class ListRequest:
    q: str = ""
    sort: str = ""
    page: int = 1
    filters: dict[str, str] = field(default_factory=dict)  # "status" / "due__gte" → text

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
        return cls(q=q[:200], sort=sort[:80], page=max(page, 1), filters=filters)

    @property
    def offset(self) -> int:
        return (self.page - 1) * PAGE_SIZE

    def record_filters(self, fields: list[FormField], tzinfo: Any) -> dict[str, Any]:
        """``filters`` keyed as ``Records.list`` wants them (``custom.x`` → ``x``).

        A date typed into a date-time field's range becomes the start (``__gte``) or
        the end (``__lte``) of that day in the user's time zone.
        """
        moments = {f.key for f in fields if f.widget == "datetime"}
        found: dict[str, Any] = {}
        for key, value in self.filters.items():
            name, _, op = key.partition("__")
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
        values: dict[str, Any] = {"q": self.q, "sort": self.sort, "page": self.page if self.page > 1 else None}
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

    @property
    def view_query(self) -> str:
        """This list as a saved view keeps it: search, sort and filters, never the page."""
        return parse_query(self.query(page=None))

    @property
    def active(self) -> bool:
        return bool(self.q or self.filters)
