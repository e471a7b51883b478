"""``kernel.export_table``: a plugin's report as CSV or XLSX, written and audited like a record export."""

from __future__ import annotations

import io
import json
from datetime import date, datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from kernel import Actor, ValidationError, export_table
from kernel.testing import make_site  # noqa: F401 - fixture

ADMIN = Actor(user_id=None, label="tester", role="admin", channel="cli")
HEADERS = ["成员", "Claims", "Share", "Day"]
ROWS = [["张三", 3, Decimal("0.25"), date(2026, 1, 5)], ["=cmd|' /C calc'!A0", 0, None, datetime(2026, 1, 5, 9, 30)]]


def test_csv_has_a_bom_guards_formulas_and_is_audited(make_site):  # noqa: F811
    site = make_site()
    table = export_table(site, ADMIN, "acme.claims", "csv", HEADERS, ROWS, details={"period": "7d"})
    data = b"".join(table.chunks())
    assert table.filename.startswith("acme-claims-") and table.filename.endswith(".csv") and table.media_type.startswith("text/csv")
    text = data.decode("utf-8")
    assert text.startswith("\ufeff成员,Claims,Share,Day\r\n")
    assert "张三,3,0.25,2026-01-05\r\n" in text
    assert "'=cmd" in text and "2026-01-05 09:30" in text
    with site.engine.connect() as conn:
        row = conn.exec_driver_sql("SELECT entity, action, changes FROM kernel_audit WHERE action = 'export'").one()
    assert row[0] == "acme.claims" and row[1] == "export"
    changes = row[2] if isinstance(row[2], dict) else json.loads(row[2])
    assert changes == {"count": 2, "format": "csv", "period": "7d"}


def test_xlsx_keeps_numbers_dates_and_text(make_site, tmp_path):  # noqa: F811
    site = make_site()
    table = export_table(site, ADMIN, "acme.claims", "xlsx", HEADERS, ROWS)
    assert table.write(tmp_path / "r.xlsx") == 2
    sheet = load_workbook(io.BytesIO((tmp_path / "r.xlsx").read_bytes())).active
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    assert cells[0] == HEADERS
    assert cells[1][:3] == ["张三", 3, 0.25] and cells[1][3].date() == date(2026, 1, 5)
    assert cells[2][0] == "=cmd|' /C calc'!A0" and sheet.cell(3, 1).data_type == "s"


def test_an_unknown_format_names_the_field(make_site):  # noqa: F811
    site = make_site()
    with pytest.raises(ValidationError) as refused:
        export_table(site, ADMIN, "acme.claims", "pdf", HEADERS, ROWS)
    assert refused.value.details[0]["loc"] == ["format"]
