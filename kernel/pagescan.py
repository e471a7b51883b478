"""A scan of every page a signed-in person can reach, for words in the wrong language.

:func:`scan_pages` follows the links of the web UI from the dashboard (``href`` and
``hx-get``, same site, ``GET`` only, a few pages per URL shape), and reports

- on a ``zh_CN`` page, a piece of text that is an English message of the catalogs
  with a Chinese translation: someone showed the message without ``gettext``;
- on an ``en`` page, Chinese text that is not user data (the values stored in
  records, users and teams) nor a language's own name in the switch;
- on either, a code a person should never have to read: a field's key (``last_followed_at``),
  an option's or a state's code where it has a label (``company``), a widget's or a
  permission's code (``notes.by_priority``), a snake_case or dotted identifier, an ISO
  timestamp (``2026-01-05T09:00:00+00:00``), a Python value (``True``, ``None``).

What is deliberately shown as typed is left alone: text inside ``<code>``, ``<kbd>``,
``<samp>`` or an element marked ``translate="no"`` (a stored value, an identifier an admin
types), and the texts passed as ``allow``. Stored values themselves (``user_data``) are
never Chinese "outside user data".

Used by the kernel's scan test and available to plugins through
:mod:`kernel.testing`. It reads pages through any client with a ``get(url)``
returning a response with ``status_code``, ``headers`` and ``text``
(Starlette's ``TestClient``).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any
from urllib.parse import urldefrag, urlsplit

from .i18n import LANGUAGE_NAMES, site_translations

if TYPE_CHECKING:
    from .site import Site

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
SKIP = re.compile(r"^/(logout|lang|api/|static/|assets/|docs)|\.(csv|xlsx|json|zip)$|/(export|delete|bulk-|restore|cancel)\b")
ID = re.compile(r"/\d+(?=/|$)")
SHOWN_ATTRIBUTES = ("placeholder", "title", "aria-label", "alt")
#: elements whose text is shown as typed (never a finding); ``translate="no"`` marks any other
AS_TYPED = ("code", "kbd", "samp")
VOID = frozenset("area base br col embed hr img input link meta source track wbr".split())
ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}|\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})\b|\d{2}:\d{2}:\d{2}\.\d+")
IDENTIFIER = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)+$|^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
PYTHON_VALUES = frozenset({"True", "False", "None", "[]", "{}"})


@dataclass(frozen=True)
class Finding:
    """One piece of text in the wrong language on one page."""

    path: str
    text: str
    why: str


class _Text(HTMLParser):
    """Text nodes and shown attributes outside ``script``/``style``, and the links to follow."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self.typed: list[str] = []  # texts shown as typed (see AS_TYPED)
        self.links: list[str] = []
        self._hidden = 0
        self._open: list[tuple[str, bool]] = []  # open elements, and whether each shows text as typed

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "template"):
            self._hidden += 1
        found = dict(attrs)
        if tag == "a" and found.get("href"):
            self.links.append(str(found["href"]))
        if found.get("hx-get"):  # a panel or a tab the page loads into itself
            self.links.append(str(found["hx-get"]))
        as_typed = tag in AS_TYPED or found.get("translate") == "no"
        for name in SHOWN_ATTRIBUTES:
            if found.get(name):
                self._add(str(found[name]), as_typed)
        if tag not in VOID:
            self._open.append((tag, as_typed))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID and self._open and self._open[-1][0] == tag:
            self._open.pop()

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "template") and self._hidden:
            self._hidden -= 1
        for depth in range(len(self._open) - 1, -1, -1):  # close it, and whatever was left open inside it
            if self._open[depth][0] == tag:
                del self._open[depth:]
                break

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self._add(data, False)

    def _add(self, text: str, as_typed: bool) -> None:
        text = " ".join(text.split())
        if text:
            typed = as_typed or any(flag for _, flag in self._open)
            (self.typed if typed else self.texts).append(text)


def english_messages(site: Site) -> set[str]:
    """Catalog messages (kernel's and every enabled plugin's) that have a different Chinese translation."""
    catalog = site_translations(site, "zh_CN")
    found = set()
    for key, value in getattr(catalog, "_catalog", {}).items():
        message = key[0] if isinstance(key, tuple) else key
        if isinstance(message, str) and message and value and value != message and "%(" not in message and CJK.search(value):
            found.add(message)
    return found


def user_data(site: Site) -> list[str]:
    """Every text stored in the records of every entity (and custom values), longest first."""
    import sqlalchemy as sa

    texts: set[str] = set()
    with site.engine.connect() as conn:
        for entity in site.view.entities.values():
            for row in conn.execute(sa.select(entity.table)):
                _collect(row._mapping.values(), texts)
    texts |= {t[0] for t in texts if t}  # an avatar shows a name's first character
    return sorted((t for t in texts if CJK.search(t)), key=len, reverse=True)


def _collect(values: Iterable[Any], into: set[str]) -> None:
    for value in values:
        if isinstance(value, str):
            into.add(value.strip())
            into.update(part.strip() for part in re.split(r"[\n,，、/]", value) if part.strip())
        elif isinstance(value, dict):
            _collect(value.values(), into)
        elif isinstance(value, list):
            _collect(value, into)


def raw_codes(site: Site, locale: str) -> dict[str, str]:
    """Codes of this site a page must show by their label in ``locale``: code → what it is.

    Field keys with an underscore, options' and states' codes whose label differs from the code,
    actions', widgets' and permissions' names."""
    from .fielddescriptions import form_fields
    from .i18n import pick
    from .layouts import registered_widgets

    view = site.view
    found: dict[str, str] = {}
    for entity in view.entities.values():
        for field_ in form_fields(view, entity):
            if "_" in field_.name:
                found.setdefault(field_.name, f"the key of the field {entity.name}.{field_.name}")
            labels = field_.extra.get("labels") or {}
            for code in field_.choices:
                if code in labels and pick(labels[code], locale, code) != code:
                    found.setdefault(code, f"a code of {entity.name}.{field_.name} that has a label")
        for action in entity.actions:
            if "_" in action.name:
                found.setdefault(action.name, f"the name of the action {entity.name}.{action.name}")
    for name in registered_widgets(site):
        found.setdefault(name, "a widget's code")
    return found


def raw(path: str, texts: list[str], codes: dict[str, str], allow: Iterable[str] = ()) -> list[Finding]:
    """Texts that are (or hold) a code, an ISO timestamp or a Python value rather than words."""
    allowed = set(allow)
    found = []
    for text in texts:
        if text in allowed:
            continue
        if text in codes:
            found.append(Finding(path, text, codes[text]))
        elif IDENTIFIER.match(text):
            found.append(Finding(path, text, "an identifier"))
        elif text in PYTHON_VALUES:
            found.append(Finding(path, text, "a Python value"))
        elif ISO_TIME.search(text):
            found.append(Finding(path, text, "an ISO timestamp"))
    return found


def untranslated(path: str, texts: list[str], messages: set[str]) -> list[Finding]:
    """On a Chinese page: texts that are English catalog messages."""
    return [Finding(path, text, "an English catalog message on a zh_CN page") for text in texts if text in messages]


def stray_chinese(path: str, texts: list[str], data: list[str]) -> list[Finding]:
    """On an English page: Chinese text left once user data and language names are taken out."""
    allowed = [*data, *LANGUAGE_NAMES.values()]
    found = []
    for text in texts:
        if not CJK.search(text):
            continue
        rest = text
        for value in allowed:
            if value and value in rest:
                rest = rest.replace(value, " ")
        if CJK.search(rest):
            found.append(Finding(path, text, "Chinese text outside user data on an en page"))
    return found


def scan_pages(
    client: Any, site: Site, locale: str, *, start: Iterable[str] = ("/",), per_shape: int = 2, limit: int = 400, allow: Iterable[str] = ()
) -> tuple[list[str], list[Finding]]:
    """Walk the pages ``client`` (signed in, showing ``locale``) reaches; ``(paths read, findings)``.

    At most ``per_shape`` pages of one URL shape (``/r/ENTITY/{id}``) are read, and ``limit`` in all.
    ``allow``: texts that are user data although they look like a code (never a finding).
    """
    start = tuple(start)
    messages = english_messages(site) if locale == "zh_CN" else set()
    data = user_data(site) if locale == "en" else []
    codes, allow = raw_codes(site, locale), tuple(allow)
    queue, seen, shapes = deque(start), set(start), {}
    read: list[str] = []
    findings: list[Finding] = []
    while queue and len(read) < limit:
        path = queue.popleft()
        answer = client.get(path)
        if answer.status_code != 200 or "text/html" not in answer.headers.get("content-type", ""):
            continue
        read.append(path)
        parser = _Text()
        parser.feed(answer.text)
        findings += untranslated(path, parser.texts, messages) if locale == "zh_CN" else stray_chinese(path, parser.texts, data)
        findings += raw(path, parser.texts, codes, allow)
        for link in parser.links:
            target = _local(link)
            if target is None or target in seen or SKIP.search(urlsplit(target).path):
                continue
            shape = ID.sub("/{id}", urlsplit(target).path) + ("?" if urlsplit(target).query else "")
            if shapes.get(shape, 0) >= per_shape:
                continue
            shapes[shape] = shapes.get(shape, 0) + 1
            seen.add(target)
            queue.append(target)
    return read, findings


def _local(link: str) -> str | None:
    """A link of this site as a path (with its query), or None for another site, a fragment, mailto:..."""
    link = urldefrag(link)[0]
    parts = urlsplit(link)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")
