"""The import's fast paths give the general path's answers, value for value.

:func:`kernel.importing.row_reader` (a converter per column, chosen once per file) against
:func:`kernel.importing.row_data` / :func:`kernel.importing.convert`, over many shapes of cell.
"""

from __future__ import annotations

import itertools
import random
import unicodedata
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import pytest

from kernel import importing
from kernel.fielddescriptions import FormField
from kernel.importing import Column, convert, converter, row_data, row_reader

WIDGETS = ("text", "email", "tel", "checkbox", "integer", "reference", "money", "number", "date", "datetime", "select", "multiselect", "list", "json")


def _fields() -> list[FormField]:
    fields = []
    for widget, custom in itertools.product(WIDGETS, (False, True)):
        extra: dict[str, Any] = {}
        choices: tuple[str, ...] = ()
        if widget in ("select", "multiselect"):
            choices = ("exhibition", "referral", "website")
            extra["labels"] = {"exhibition": {"en": "Trade show", "zh_CN": "展会"}, "referral": {"en": "Referral", "zh_CN": "老客户推荐"}}
        if widget == "list":
            extra["item"] = "integer" if custom else "text"
        fields.append(FormField(f"{widget}_{int(custom)}", widget, widget, custom=custom, choices=choices, extra=extra))
    return fields


def _cells(rng: random.Random) -> list[Any]:
    """Texts as CSV cells hold them and values as XLSX cells hold them, near misses included."""
    texts = [
        "0", "1", "7", "42", "0042", "-3", "+5", "#12", "1,234", "１２３", "²", "12345678901234567890", "1234567890123456789",
        "1.5", "1234.50", "0.50", ".5", "5.", "-0.5", "¥1,234.50", "$12", "1e3", "NaN", "inf", "1.2.3", "1 234", "12abc",
        "2024-05-01", "2024-5-1", "2024/05/01", "2024年5月1日", "2024-02-30", "0000-01-01", "0001-01-01", "9999-12-31",
        "2024-05-01 00:00", "2024-05-01T08:30", "2024-05-01 8:30:00+08:00", "2024-13-01", "２０２４-０５-０１", "2024-05-011",
        "是", "否", "yes", "No", "TRUE", " true ", "√", "×", "对", "错", "y", "n", "on", "off", "Ｙｅｓ", "maybe",
        "展会", "老客户推荐", "Referral", "website", "官网", "exhibition; referral", "展会，官网", "a;b;;c", ";",
        "'=SUM(A1)", "'+1", "'hello", "plain text", "客户0000001贸易有限公司", "13800138000", "c1@example.com",
        '{"a": 1}', "[1, 2]", "not json {", "",
    ]
    values: list[Any] = list(texts)
    values += [True, False, 0, 1, 12, -7, 2**70, 1.0, 2.5, 13800138000.0, float("nan"), date(2024, 5, 1), datetime(2024, 5, 1),
               datetime(2024, 5, 1, 8, 30), time(8, 30)]
    for _ in range(300):
        values.append(f"{rng.randrange(10**rng.randrange(1, 12))}")
        values.append(f"{rng.randrange(10**6)}.{rng.randrange(100):02d}")
        day = date(1990, 1, 1) + timedelta(days=rng.randrange(20_000))
        values.append(day.isoformat())
        values.append(f"{rng.randrange(1000, 3000)}-{rng.randrange(0, 15):02d}-{rng.randrange(0, 35):02d}")
    return values


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("tz", [timezone.utc, timezone(timedelta(hours=8))])
def test_each_column_converter_answers_as_convert_does(tz):
    cells = _cells(random.Random(17))
    for form_field in _fields():
        fast = converter(form_field, tz)
        for value in cells:
            assert _same(fast(value), convert(form_field, value, tz)), (form_field.widget, form_field.custom, value)


def test_a_row_reader_answers_as_row_data_does():
    rng = random.Random(5)
    fields = _fields()
    columns = [Column(i, f.name, f, "matched") for i, f in enumerate(fields)] + [Column(len(fields), "left out", None, "ignored")]
    cells = _cells(rng) + [None] * 200
    read = row_reader(columns, timezone.utc)
    for _ in range(2_000):
        row = [rng.choice(cells) for _ in range(rng.randrange(len(columns) + 2))]  # short rows and long ones
        assert read(row) == row_data(columns, row, timezone.utc), row
        assert list(read(row)) == list(row_data(columns, row, timezone.utc))  # the same keys in the same order


def test_the_yes_and_no_texts_taken_as_they_are_are_already_normalized():
    for text in importing._BOOLEAN_TEXT:
        assert unicodedata.normalize("NFKC", text).strip().casefold() == text


def test_a_select_column_remembers_its_texts_answers_within_a_bound(monkeypatch):
    """A select column's converter keeps each text's choice, the general path's answer, and asks for a kept
    text no more; it keeps at most _KNOWN_TEXTS of them."""
    monkeypatch.setattr(importing, "_KNOWN_TEXTS", 50)
    select = next(f for f in _fields() if f.widget == "select")
    cells = _cells(random.Random(3))
    fast = converter(select)
    assert all(_same(fast(value), convert(select, value)) for value in cells)
    kept = list(dict.fromkeys(value for value in cells if type(value) is str))[:50]
    asked, choice = [], importing._choice
    monkeypatch.setattr(importing, "_choice", lambda field, text: asked.append(text) or choice(field, text))
    assert all(_same(fast(value), convert(select, value)) for value in cells)
    assert len(asked) == 2 * len(cells) - len([value for value in cells if type(value) is str and value in kept])
