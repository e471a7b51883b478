"""Every string the sea's pages and refusals show has a Chinese translation with the same placeholders,
and a refusal of the move API reads in Chinese."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from kernel.testing import KERNEL_LOCALE_DIR, catalog_path

PLUGIN = Path(__file__).resolve().parents[1]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def catalog(root: Path, locale: str = "zh_CN"):
    with catalog_path(root, locale).open("rb") as handle:
        return read_po(handle, locale=locale)


def messages() -> set[str]:
    sources = [(PLUGIN / name, "python") for name in ("pages.py", "entering.py")]
    sources += [(p, "jinja2") for p in sorted((PLUGIN / "templates" / "sea").glob("*.html"))]
    found = set()
    for path, method in sources:
        for _line, message, _comments, _context in extract_from_file(method, str(path), keywords=KEYWORDS):
            found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_string_has_a_chinese_translation():
    found = messages()
    assert len(found) > 15
    own, kernels = catalog(PLUGIN / "locale"), catalog(KERNEL_LOCALE_DIR)
    missing = [k for k in sorted(found) if not ((own.get(k) or kernels.get(k)) and (own.get(k) or kernels.get(k)).string)]
    assert missing == [], "add these to plugins/sea/locale/zh_CN/LC_MESSAGES/messages.po"
    own = catalog(PLUGIN / "locale")
    wrong = [k for k in found if own.get(k) and set(PLACEHOLDER.findall(k)) != set(PLACEHOLDER.findall(own.get(k).string))]
    assert wrong == []


def test_a_move_refusal_reads_in_chinese(site, people, http):
    from .conftest import make_sea

    sea = make_sea(site, people)
    answer = http(people["rep"]).post("/api/v1/plugins/sea/move", json={"sea_id": sea["id"], "ids": [1]},
                                      headers={"Accept-Language": "zh-CN"})
    assert answer.status_code == 403 and "只有此公海的管理员" in answer.json()["error"]["message"], answer.text
