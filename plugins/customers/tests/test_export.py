"""Issue 16, observation 3: an Excel export of customers wrote ``company``, ``active``, owner ids,
ISO UTC times and True/False; a person now reads labels, names, local times and 是/否."""

from __future__ import annotations

import io
from datetime import datetime

import openpyxl
import pytest

from kernel import Actor
from kernel.testing import export_records

SYSTEM = Actor.system("cli")


@pytest.mark.parametrize(("locale", "expected"), [
    ("zh_CN", {"name": "名称", "kind": ("类型", "企业"), "status": ("状态", "活跃"), "owner": "负责人", "team": "团队", "churn": "否"}),
    ("en", {"name": "Name", "kind": ("Type", "Company"), "status": ("Status", "Active"), "owner": "Owner", "team": "Team", "churn": "No"}),
])
def test_a_customer_export_reads_as_words_names_and_local_time(site, people, locale, expected):
    site.records.update(SYSTEM, "users", people["rep"].user_id, {"name": "李娜"})
    site.records.create(people["rep"], "customers", {"name": "杭州云帆科技有限公司", "kind": "company", "status": "active"})
    started = export_records(site, people["rep"], "customers", "xlsx", locale=locale)
    buffer = io.BytesIO(b"".join(started.chunks()))
    header, row = [list(r) for r in openpyxl.load_workbook(buffer).active.iter_rows(values_only=True)]
    values = dict(zip(header, row))
    assert values[expected["name"]] == "杭州云帆科技有限公司"
    assert values[expected["kind"][0]] == expected["kind"][1] and values[expected["status"][0]] == expected["status"][1]
    assert values[expected["owner"]] == "李娜" and values[expected["team"]] == "North"
    assert expected["churn"] in row and not any(value is True or value is False for value in row)
    created = [value for value in row if isinstance(value, datetime)]
    assert created and all(moment.tzinfo is None for moment in created)  # wall-clock time, no "Z"
    assert not any(isinstance(value, str) and value.endswith("Z") and "T" in value for value in row)


def test_raw_codes_for_reimport(site, people):
    site.records.create(people["rep"], "customers", {"name": "Northwind", "kind": "company", "status": "active"})
    started = export_records(site, people["rep"], "customers", "csv", raw=True)
    header, row = b"".join(started.chunks()).decode("utf-8-sig").splitlines()
    values = dict(zip(header.split(","), row.split(",")))
    assert values["kind"] == "company" and values["status"] == "active" and values["owner_id"] == str(people["rep"].user_id)
