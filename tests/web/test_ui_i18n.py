"""The UI's catalogs: every string the kernel's UI shows has a Chinese translation."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from kernel.i18n import KERNEL_LOCALE_DIR, Formatter, catalog_path, pick, translations
from kernel.testing import translation_gaps

ROOT = Path(__file__).resolve().parents[2]
METHODS = [("kernel/**.py", "python"), ("kernel/web/templates/**.html", "jinja2")]  # as kernel/locale/babel.cfg
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def extracted() -> set[str | tuple[str, str]]:
    found: set[str | tuple[str, str]] = set()
    for _, _, message, _, _ in extract_from_dir(str(ROOT), METHODS, keywords=KEYWORDS):
        found.add(message if isinstance(message, str) else tuple(message))
    return found


def test_every_ui_string_has_a_chinese_translation():
    kernel = ROOT / "kernel"
    gaps = translation_gaps(kernel, [*sorted(kernel.rglob("*.py")), *sorted(kernel.glob("web/templates/**/*.html"))])
    assert len(gaps.messages) > 100
    assert gaps.missing == [], "run pybabel extract (see kernel/locale/babel.cfg) and translate these"
    assert gaps.placeholders_differ == [], "placeholders differ between English and Chinese"


def test_the_template_lists_what_the_catalog_translates_and_the_code_marks():
    """``messages.pot`` is where a new language starts: it must not lag the Chinese catalog or the code."""
    with (KERNEL_LOCALE_DIR / "messages.pot").open("rb") as handle:
        template = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id}
    with catalog_path(KERNEL_LOCALE_DIR, "zh_CN").open("rb") as handle:
        chinese = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle, locale="zh_CN") if m.id}
    marked = {m if isinstance(m, str) else m[0] for m in extracted()}
    assert sorted(marked - template) == [], "run pybabel extract (see kernel/locale/babel.cfg)"
    assert sorted(chinese ^ template) == [], "messages.pot and the zh_CN catalog list different messages"


def test_catalogs_compile_in_memory_and_merge_plugin_catalogs():
    kernel_only = translations("zh_CN")
    assert kernel_only.gettext("Dashboard") == "仪表盘"
    assert kernel_only.ngettext("%(num)s custom field", "%(num)s custom fields", 3) == "%(num)s 个自定义字段"
    with_plugin = translations("zh_CN", [ROOT / "tests" / "example" / "locale"])
    assert with_plugin.gettext("Due") == "截止日期" and with_plugin.gettext("Dashboard") == "仪表盘"
    assert translations("en").gettext("Dashboard") == "Dashboard"


def test_formats_follow_the_locale():
    assert Formatter("zh_CN").money(1234.5) == "¥1,234.50"
    assert Formatter("en").money(1234.5, "USD") == "$1,234.50"
    assert Formatter("zh_CN").date("2026-03-01") == "2026年3月1日"
    assert Formatter("en").datetime("2026-03-01T08:30:00.000Z") == "Mar 1, 2026, 8:30:00\u202fAM"
    assert pick({"en": "Note", "zh_CN": "笔记"}, "zh_CN") == "笔记" and pick({"en": "Note"}, "zh_CN") == "Note"


def test_no_catalog_translates_one_message_twice():
    """A second entry for a message silently wins over the first (babel keeps the last); merges must not add one."""
    import collections
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    for po in [*root.glob("kernel/locale/*/LC_MESSAGES/*.po"), *root.glob("plugins/*/locale/*/LC_MESSAGES/*.po")]:
        text = po.read_text(encoding="utf-8")
        keys = re.findall(r'^(?:msgctxt "((?:[^"\\]|\\.)*)"\n)?msgid "((?:[^"\\]|\\.)*)"\n', text, re.MULTILINE)
        twice = [key for key, n in collections.Counter(keys).items() if n > 1 and key[1]]
        assert twice == [], f"{po.relative_to(root)} translates {twice} more than once"


def test_the_chinese_ui_addresses_its_reader_formally():
    """One register: 您, never 你, in every Chinese catalog, in any Chinese the code, templates or scripts
    carry, and in the Chinese documentation (business software; a page must not switch between the two)."""
    catalogs = [*ROOT.glob("kernel/locale/zh_CN/LC_MESSAGES/*.po"), *ROOT.glob("plugins/*/locale/zh_CN/LC_MESSAGES/*.po")]
    assert len(catalogs) >= 5
    informal = []
    formal = 0
    for po in catalogs:
        with po.open("rb") as handle:
            for message in read_po(handle, locale="zh_CN"):
                texts = message.string if isinstance(message.string, tuple) else (message.string,)
                informal += [f"{po.relative_to(ROOT)}: {text}" for text in texts if text and "你" in text]
                formal += sum("您" in (text or "") for text in texts)
    sources = [
        path for suffix in ("py", "html", "js", "json", "txt")
        for path in [*ROOT.glob(f"kernel/**/*.{suffix}"), *ROOT.glob(f"plugins/**/*.{suffix}")]
        if "swagger" not in path.parts and "tests" not in path.parts  # a vendored bundle; tests may quote anything
    ] + [*ROOT.glob("docs/zh/**/*.md")]
    informal += [str(path.relative_to(ROOT)) for path in sources if "你" in path.read_text(encoding="utf-8", errors="replace")]
    assert formal > 10 and informal == []
