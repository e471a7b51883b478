"""A scan of every page a signed-in person can reach, for words in the wrong language.

:func:`scan_pages` follows the links of the web UI from the dashboard (same site,
``GET`` only, a few pages per URL shape), and reports

- on a ``zh_CN`` page, a piece of text that is an English message of the catalogs
  with a Chinese translation: someone showed the message without ``gettext``;
- on an ``en`` page, Chinese text that is not user data (the values stored in
  records, users and teams) nor a language's own name in the switch.

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
        self.links: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "template"):
            self._hidden += 1
        found = dict(attrs)
        if tag == "a" and found.get("href"):
            self.links.append(str(found["href"]))
        for name in SHOWN_ATTRIBUTES:
            if found.get(name):
                self.texts.append(str(found[name]).strip())

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "template") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        text = " ".join(data.split())
        if text and not self._hidden:
            self.texts.append(text)


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


def scan_pages(client: Any, site: Site, locale: str, *, start: Iterable[str] = ("/",), per_shape: int = 2, limit: int = 400) -> tuple[list[str], list[Finding]]:
    """Walk the pages ``client`` (signed in, showing ``locale``) reaches; ``(paths read, findings)``.

    At most ``per_shape`` pages of one URL shape (``/r/ENTITY/{id}``) are read, and ``limit`` in all.
    """
    messages = english_messages(site) if locale == "zh_CN" else set()
    data = user_data(site) if locale == "en" else []
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
