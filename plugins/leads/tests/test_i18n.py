"""Every string the leads' pages and refusals show has a Chinese translation with the same placeholders,
and a refusal reads in Chinese."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from kernel.testing import KERNEL_LOCALE_DIR, catalog_path

from .conftest import make_leads, make_pool

PLUGIN = Path(__file__).resolve().parents[1]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def catalog(root: Path, locale: str = "zh_CN"):
    with catalog_path(root, locale).open("rb") as handle:
        return read_po(handle, locale=locale)


def messages() -> set[str]:
    sources = [(p, "python") for p in sorted(PLUGIN.glob("*.py"))]
    sources += [(p, "jinja2") for p in sorted((PLUGIN / "templates" / "leads").glob("*.html"))]
    found = set()
    for path, method in sources:
        for _line, message, _comments, _context in extract_from_file(method, str(path), keywords=KEYWORDS):
            found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_string_has_a_chinese_translation_with_the_same_placeholders():
    found = messages()
    assert len(found) > 20
    own, kernels = catalog(PLUGIN / "locale"), catalog(KERNEL_LOCALE_DIR)
    missing = [k for k in sorted(found) if not ((own.get(k) or kernels.get(k)) and (own.get(k) or kernels.get(k)).string)]
    assert missing == [], "add these to plugins/leads/locale/zh_CN/LC_MESSAGES/messages.po"
    wrong = [k for k in found if own.get(k) and set(PLACEHOLDER.findall(k)) != set(PLACEHOLDER.findall(own.get(k).string))]
    assert wrong == []


def test_a_conversion_refusal_reads_in_chinese(site, people, http):
    lead = make_leads(site, make_pool(site, people)["id"], 1, owner_id=people["rep"].user_id)[0]
    assert http(people["rep"]).post(f"/api/v1/leads/{lead['id']}/convert", json={}).status_code == 200
    again = http(people["rep"]).post(f"/api/v1/leads/{lead['id']}/convert", json={}, headers={"Accept-Language": "zh-CN"})
    assert again.status_code == 409 and again.json()["error"]["message"] == "此线索已转化", again.text
