"""The translation check every plugin's i18n test makes (:func:`kernel.testing.translation_gaps`)."""

from __future__ import annotations

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po

from kernel.testing import catalog_path, read_catalog, translation_gaps


@pytest.fixture
def plugin(tmp_path):
    """A plugin folder with a page, a template and a Chinese catalog missing one message and mangling a placeholder."""
    (tmp_path / "pages.py").write_text('_("Claim")\n_("Held by %(name)s")\nngettext("%(n)s lead", "%(n)s leads", 2)\n_("Nobody translated me")\n')
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "pool.html").write_text("<h1>{{ _('Lead pools') }}</h1>")
    catalog = Catalog(locale="zh_CN")
    catalog.add("Claim", "领取")
    catalog.add("Held by %(name)s", "由 %(who)s 持有")
    catalog.add(("%(n)s lead", "%(n)s leads"), ("%(n)s 条线索",))
    catalog.add("Lead pools", "")
    path = catalog_path(tmp_path / "locale", "zh_CN")
    path.parent.mkdir(parents=True)
    with path.open("wb") as handle:
        write_po(handle, catalog)
    return tmp_path


def test_the_gaps_are_the_untranslated_messages_and_the_other_placeholders(plugin):
    gaps = translation_gaps(plugin, [plugin / "pages.py", plugin / "templates" / "pool.html"])
    assert gaps.messages == {"Claim", "Held by %(name)s", "%(n)s lead", "Nobody translated me", "Lead pools"}
    assert gaps.missing == ["Lead pools", "Nobody translated me"]
    assert gaps.placeholders_differ == ["Held by %(name)s"]


def test_the_kernels_catalog_counts_and_only_code_and_templates_are_read(plugin):
    (plugin / "kernel_words.py").write_text('_("Save")\n')
    assert translation_gaps(plugin, [plugin / "kernel_words.py"]).missing == []  # "Save" is the kernel's
    assert read_catalog(plugin / "locale").get("Claim").string == "领取"
    with pytest.raises(ValueError, match="notes.txt"):
        translation_gaps(plugin, [plugin / "notes.txt"])
