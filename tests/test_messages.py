"""kernel.messages: refusals put into the reader's language, by error type, with the field's label."""

from __future__ import annotations

from kernel.errors import NotFound, ValidationError
from kernel.i18n import counted, in_sentence, pick, pick_counted, translations
from kernel.messages import Labels, localize, public_details
from kernel.pluginstate import plain_text
from kernel.web.errors import accepted_locale


def labels(locale: str) -> Labels:
    return Labels(None, None, locale, translations(locale).gettext)


def test_accept_language_picks_the_first_supported_language_by_weight():
    assert accepted_locale("zh-CN,zh;q=0.9,en;q=0.8") == "zh_CN"
    assert accepted_locale("fr-FR, en;q=0.5, zh;q=0.7") == "zh_CN"
    assert accepted_locale("en-GB") == "en" and accepted_locale("fr") is None and accepted_locale("") is None


def test_types_become_sentences_and_unknown_text_stays_as_it_was():
    exc = ValidationError("title: String should have at least 1 character", [
        {"loc": ["title"], "msg": "String should have at least 1 character", "_type": "missing"},
        {"loc": ["body", "rank"], "msg": "must be one of gold, silver"},
        {"loc": ["weird"], "msg": "something only this plugin says"},
    ])
    zh, en = localize(exc, labels("zh_CN")), localize(exc, labels("en"))
    assert [d["msg"] for d in zh.details] == ["标题 不能为空", "Rank 必须是 gold、silver 之一", "something only this plugin says"]
    assert zh.message == "标题 不能为空" and en.message == "Title is required"
    assert [d["loc"] for d in zh.details] == [d["loc"] for d in exc.details]
    assert exc.message == "title: String should have at least 1 character"  # the raised error is left alone
    assert public_details(zh.details)[0] == {"loc": ["title"], "msg": "标题 不能为空"}


def test_whole_messages_and_kernel_refusals_come_from_the_catalog():
    assert localize(ValidationError.at(["active"], "you cannot deactivate your own account"), labels("zh_CN")).message == "不能停用自己的账号"
    assert localize(NotFound("no widgets record with id 7"), labels("zh_CN")).message == "没有编号为 7 的widgets记录"


def test_plugin_descriptions_lose_their_markup():
    assert plain_text("The ``customers`` plugin: see :func:`merge` and *this*.\n\nMore.") == "The customers plugin: see merge and this."


def test_a_counted_label_takes_the_plural_form_of_its_count_in_the_locale():
    unit = {"en": {"one": "customer", "other": "customers"}, "zh_CN": "个客户"}
    assert [pick_counted(unit, "en", n) for n in (0, 1, 2, 21)] == ["customers", "customer", "customers", "customers"]
    assert pick_counted(unit, "zh_CN", 1) == pick_counted(unit, "zh_CN", 2) == "个客户"
    assert pick_counted({"en": "pcs"}, "zh_CN", 1) == "pcs"  # a plain label, English when the locale has none


def test_pick_and_pick_counted_fall_back_alike_the_locale_then_english_then_the_first_label():
    both = {"fr": "fr", "en": "en", "zh_CN": "zh"}
    no_zh = {"fr": "fr", "en": "en", "zh_CN": ""}  # an empty label counts as missing
    no_en = {"fr": "fr", "de": "de"}
    for labels, wanted in ((both, "zh"), (no_zh, "en"), (no_en, "fr"), ({}, "")):
        assert pick(labels, "zh_CN") == pick_counted(labels, "zh_CN", 2) == wanted, labels
    assert pick({}, "zh_CN", "teams") == "teams" and pick(None, "zh_CN", "teams") == "teams"  # a fallback for no label at all
    assert pick("Team", "zh_CN") == pick_counted("Team", "zh_CN", 2) == "Team"  # a string is its own label
    plural = {"en": {"one": "team", "other": "teams"}}
    assert [pick_counted(plural, "zh_CN", n) for n in (1, 2)] == ["teams", "teams"]  # English's label, Chinese's plural rule: one form
    assert [pick_counted(plural, "en", n) for n in (1, 2, "many")] == ["team", "teams", "teams"]
    assert pick_counted({"en": {"other": "pcs"}}, "en", 1) == "pcs"  # a missing form is "other"


def test_a_count_reads_right_for_one_and_many_in_english_and_chinese(site):
    unit = site.view.entity("teams").unit
    assert unit == {"en": {"one": "Team", "other": "Teams"}, "zh_CN": {"one": "团队", "other": "团队"}}
    assert [counted(n, unit) for n in (0, 1, 2)] == ["0 teams", "1 team", "2 teams"]
    assert [counted(n, unit, "zh_CN") for n in (1, 2)] == ["1 团队", "2 团队"]  # Chinese has one form
    assert counted(1, site.view.entity("notes").unit) == "1 note"
    assert [counted(n, unit) for n in (1000, 1234567)] == ["1,000 teams", "1,234,567 teams"]  # grouped, as the progress lines group them
    assert counted(12345, unit, "zh_CN") == "12,345 团队"
    assert in_sentence("Follow-ups") == "follow-ups" and in_sentence("SMS templates") == "SMS templates" and in_sentence("IDs") == "IDs"
    assert in_sentence("x") == "x" and in_sentence("") == ""
