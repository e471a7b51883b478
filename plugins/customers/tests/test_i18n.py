"""Every string the plugin's pages show has a Chinese translation (in its own catalog or the kernel's)."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from kernel import site_translations
from kernel.testing import KERNEL_LOCALE_DIR, catalog_path

PLUGIN = Path(__file__).resolve().parents[1]
METHODS = [("**.py", "python"), ("templates/**.html", "jinja2")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
ACTIVITY_KINDS = {"followup": ("Follow-up", "跟进"), "task": ("Task", "任务")}


def catalog(root: Path):
    with catalog_path(root, "zh_CN").open("rb") as handle:
        return read_po(handle, locale="zh_CN")


def test_every_page_string_has_a_chinese_translation():
    own, kernels = catalog(PLUGIN / "locale"), catalog(KERNEL_LOCALE_DIR)
    messages = {m if isinstance(m, str) else m[0] for _, _, m, _, _ in extract_from_dir(str(PLUGIN), METHODS, keywords=KEYWORDS)}
    assert len(messages) > 50
    missing, wrong = [], []
    for key in sorted(messages):
        entry = own.get(key) or kernels.get(key)
        translated = entry.string if entry is not None else None
        first = translated[0] if isinstance(translated, tuple) else translated
        if not first:
            missing.append(key)
        elif set(PLACEHOLDER.findall(key)) != set(PLACEHOLDER.findall(first)):
            wrong.append(key)
    assert missing == [], "add these to plugins/customers/locale/zh_CN/LC_MESSAGES/messages.po"
    assert wrong == [], "placeholders differ between English and Chinese"


def test_the_catalog_has_no_stale_entries():
    own = catalog(PLUGIN / "locale")
    used = {m if isinstance(m, str) else m[0] for _, _, m, _, _ in extract_from_dir(str(PLUGIN), METHODS, keywords=KEYWORDS)}
    stale = sorted(m.id if isinstance(m.id, str) else m.id[0] for m in own if m.id)
    assert [m for m in stale if m not in used and m not in ACTIVITY_KINDS] == []


def test_activity_kinds_read_well_in_both_languages(site):
    for kind, (english, chinese) in ACTIVITY_KINDS.items():
        assert site_translations(site, "en").gettext(kind) == english
        assert site_translations(site, "zh_CN").gettext(kind) == chinese
