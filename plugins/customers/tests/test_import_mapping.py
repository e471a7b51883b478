"""Importing customers from other CRMs' exports: header synonyms (``register_import_synonyms``),
system fields left out, and duplicates reported by name (issue 16, observation 4)."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from openpyxl import Workbook

from kernel import Actor
from kernel.testing import ImportTargets as Targets, Upsert, cli, import_rows, plan_columns, read_sheet

SYSTEM = Actor.system("cli")


def csv_bytes(text: str, encoding: str = "utf-8-sig") -> bytes:
    return text.replace("\n", "\r\n").encode(encoding)


def planned(site: Any, headers: list[str], entity: str = "customers") -> dict[str, str | None]:
    sheet = read_sheet(csv_bytes(",".join(headers) + "\n" + ",".join("x" for _ in headers) + "\n"))
    return {c.header: (c.key if c.field is not None else c.how) for c in plan_columns(sheet, site.view, site.view.entity(entity))}


def test_chinese_headers_of_other_crms_map_without_a_mapping(site):
    assert planned(site, ["客户名称", "联系电话", "客户来源", "所属行业", "统一社会信用代码", "详细地址"]) == {
        "客户名称": "name", "联系电话": "phone", "客户来源": "source", "所属行业": "industry",
        "统一社会信用代码": "credit_code", "详细地址": "address",
    }
    assert planned(site, ["公司名称"])["公司名称"] == "name"
    assert planned(site, ["名称"])["名称"] == "name"


def test_english_headers_of_salesforce_and_zoho_exports_map(site):
    assert planned(site, ["Account Name", "Phone", "Website", "Industry", "Account Source", "Billing Street"]) == {
        "Account Name": "name", "Phone": "phone", "Website": "website", "Industry": "industry",
        "Account Source": "source", "Billing Street": "address",
    }


def test_contacts_have_synonyms_of_their_own(site):
    assert planned(site, ["联系人姓名", "手机号码", "职务", "电子邮箱"], "contacts") == {
        "联系人姓名": "name", "手机号码": "phone", "职务": "title", "电子邮箱": "email",
    }


def test_a_label_beats_a_synonym_and_a_field_name_beats_both(site):
    targets = Targets(site.view, site.view.entity("customers"))
    assert targets.resolve("phone") == ("phone",)
    assert targets.resolve("来源") == ("source",)
    assert targets.resolve("no such header") == ()


def test_system_fields_are_not_offered_and_their_headers_are_left_out(site):
    targets = Targets(site.view, site.view.entity("customers"))
    assert not {"churn_flag", "churn_reason", "churn_flagged_at"} & set(targets.fields)
    assert planned(site, ["客户名称", "流失预警", "churn_reason"]) == {"客户名称": "name", "流失预警": "system", "churn_reason": "system"}


def test_the_mapping_offers_labels_in_the_readers_language_without_raw_names(site):
    targets = Targets(site.view, site.view.entity("customers"))
    zh = dict(targets.choices("zh_CN", str))
    assert zh["name"] == "名称" and zh["phone"] == "电话" and zh["credit_code"] == "统一社会信用代码"
    en = dict(targets.choices("en", str))
    assert en["source"] == "Source"
    assert not any(re.search(r"\(\w+\)$", label) for label in en.values())  # no key appended: every label is distinct


def test_a_gbk_xlsx_export_imports_with_its_own_headers(site):
    book = Workbook()
    sheet = book.active
    sheet.append(["客户名称", "联系电话", "客户来源", "客户级别", "流失预警"])
    sheet.append(["华南贸易有限公司", "020-88886666", "展会", "A", "是"])
    out = io.BytesIO()
    book.save(out)
    report = import_rows(site, SYSTEM, "customers", read_sheet(out.getvalue()))
    assert report.written and report.imported == 1
    stored = site.records.list(SYSTEM, "customers").items[0]
    assert (stored["name"], stored["phone"], stored["source"], stored["level"], stored["churn_flag"]) == ("华南贸易有限公司", "+862088886666", "exhibition", "A", False)


def test_a_gbk_csv_export_imports_with_its_own_headers(site):
    data = csv_bytes("客户名称,联系电话,客户来源\n东方电子有限公司,13900001111,老客户推荐\n", encoding="gbk")
    report = import_rows(site, SYSTEM, "customers", read_sheet(data))
    assert report.written and report.source == "CSV, GB18030"
    assert [c["source"] for c in site.records.list(SYSTEM, "customers").items] == ["referral"]  # an option's label in, its code stored


def test_a_skipped_duplicate_is_reported_by_its_name(site):
    stored = site.records.create(SYSTEM, "customers", {"name": "甲公司", "phone": "13800000001"})
    report = import_rows(site, SYSTEM, "customers", read_sheet(csv_bytes("客户名称,联系电话\n甲有限公司,13800000001\n")))
    [issue] = report.duplicates
    assert issue.duplicate_of == (stored["id"],) and issue.duplicate_names == ("甲公司",)
    assert str(issue) == f"row 2: duplicate of 甲公司 (#{stored['id']})"


def test_another_plugin_can_add_synonyms_to_customers(make_site):
    from kernel import hookimpl

    class Erp:
        NAME = "erp_bridge"
        REQUIRES = ("customers",)

        @staticmethod
        @hookimpl
        def register_import_synonyms():
            return {"customers": {"website": ["主页链接"], "no_such_field": ["ignored"]}}

    site = make_site(Erp, plugins=("customers", "erp_bridge"))
    assert planned(site, ["主页链接", "ignored"]) == {"主页链接": "website", "ignored": "unknown"}


# -- references by natural key -----------------------------------------------------------------------

CODE = "91350100M000100Y43"


def test_contacts_find_their_customer_by_name_or_credit_code_in_bulk(site):
    acme = site.records.create(SYSTEM, "customers", {"name": "华南贸易有限公司", "credit_code": CODE})
    other = site.records.create(SYSTEM, "customers", {"name": "东方电子", "phone": "13900002222"})
    rows = "".join(f"联系人{i},{'华南贸易有限公司' if i % 2 else CODE},1380000{i:04d}\n" for i in range(40))
    data = csv_bytes("联系人姓名,客户名称,手机号码\n" + rows + f"王五,{other['id']},13811112222\n")
    seen: list[str] = []
    listen = lambda conn, cursor, statement, *rest: seen.append(statement)  # noqa: E731
    import sqlalchemy as sa

    sa.event.listen(site.engine, "before_cursor_execute", listen)
    try:
        report = import_rows(site, SYSTEM, "contacts", read_sheet(data))
    finally:
        sa.event.remove(site.engine, "before_cursor_execute", listen)
    assert report.written and report.imported == 41, report.issue_lines()
    contacts = site.records.list(SYSTEM, "contacts", limit=100).items
    assert {c["customer_id"] for c in contacts if c["name"] != "王五"} == {acme["id"]}
    assert [c["customer_id"] for c in contacts if c["name"] == "王五"] == [other["id"]]
    lookups = [s for s in seen if s.lstrip().startswith("SELECT") and "customers_customers.credit_code IN" in s]
    assert len(lookups) == 1  # one look-up for the whole batch, not one per row


def test_a_name_that_matches_no_customer_or_several_is_reported_on_its_row(site):
    site.records.create(SYSTEM, "customers", {"name": "同名公司", "phone": "13900000001"})
    site.records.create(SYSTEM, "customers", {"name": "同名公司", "phone": "13900000002"}, on_duplicate="warn")
    data = csv_bytes("联系人姓名,客户名称\n张三,不存在的公司\n李四,同名公司\n")
    report = import_rows(site, SYSTEM, "contacts", read_sheet(data), skip_invalid=True)
    assert [str(i) for i in report.invalid] == [
        "row 2, 客户名称: no customers record is named '不存在的公司'",
        "row 3, 客户名称: '同名公司' names 2 customers records; give its id or another key",
    ]
    assert report.imported == 0


def test_an_owner_is_found_by_email_or_name(site):
    rep = site.records.create(SYSTEM, "users", {"email": "rep@example.com", "name": "Rep One", "role": "sales_rep"})
    data = csv_bytes("Account Name,Account Owner\nAcme,rep@example.com\nBeta,Rep One\n")
    report = import_rows(site, SYSTEM, "customers", read_sheet(data))
    assert report.written, report.issue_lines()
    assert {c["name"]: c["owner_id"] for c in site.records.list(SYSTEM, "customers").items} == {"Acme": rep["id"], "Beta": rep["id"]}


# -- upserts -------------------------------------------------------------------------------------------


def upsert_site(site: Any) -> dict[str, Any]:
    return site.records.create(SYSTEM, "customers", {"name": "华南贸易", "credit_code": CODE, "phone": "020-88881111", "region": None, "source": "展会"})


FILE = f"客户名称,统一社会信用代码,联系电话,所在地区,客户来源\n华南贸易有限公司,{CODE},020-88882222,广东,官网\n新客户,,13900009999,,\n"


def test_update_takes_theirs_by_default_and_creates_the_rows_that_match_nothing(site):

    stored = upsert_site(site)
    report = import_rows(site, SYSTEM, "customers", read_sheet(csv_bytes(FILE)), upsert=Upsert(key="credit_code"))
    assert report.updated == [stored["id"]] and report.imported == 1, report.issue_lines()
    after = site.records.get(SYSTEM, "customers", stored["id"])
    assert (after["name"], after["phone"], after["region"], after["source"]) == ("华南贸易有限公司", "+862088882222", "guangdong", "website")  # phones as E.164, option codes
    history = site.records.history(SYSTEM, "customers", stored["id"])
    assert history[0]["action"] == "update" and history[0]["channel"] == "import"


def test_update_policies_keep_ours_and_fill_empty_only_per_field(site):

    stored = upsert_site(site)
    upsert = Upsert(key="credit_code", policy="empty", fields={"source": "theirs", "name": "ours"})
    report = import_rows(site, SYSTEM, "customers", read_sheet(csv_bytes(FILE)), upsert=upsert)
    assert report.updated == [stored["id"]]
    after = site.records.get(SYSTEM, "customers", stored["id"])
    assert (after["name"], after["phone"], after["region"], after["source"]) == ("华南贸易", "+862088881111", "guangdong", "website")
    again = import_rows(site, SYSTEM, "customers", read_sheet(csv_bytes(FILE.split("\n")[0] + "\n" + FILE.split("\n")[1] + "\n")), upsert=upsert)
    assert again.updated == [] and again.unchanged == 1 and again.summary().endswith("updated 0 (1 unchanged)")


def test_the_cli_updates_by_key_with_policies(site, tmp_path, database_url):
    from click.testing import CliRunner


    stored = upsert_site(site)
    path = tmp_path / "update.csv"
    path.write_bytes(csv_bytes(FILE))
    config = tmp_path / "crm.toml"
    config.write_text(f'[crm]\ndatabase_url = "{database_url}"\nplugins = ["customers"]\n', encoding="utf-8")
    args = ["--config", str(config), "import", "customers", str(path), "--on-duplicate", "update", "--key", "credit_code", "--policy", "empty", "--policy", "source=theirs"]
    result = CliRunner().invoke(cli(), args, prog_name="crm")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "imported 1 customer, skipped 0 duplicates, 0 invalid, updated 1 (0 unchanged)"
    after = site.records.get(SYSTEM, "customers", stored["id"])
    assert (after["phone"], after["region"], after["source"]) == ("+862088881111", "guangdong", "website")
    bad = CliRunner().invoke(cli(), args[:5] + ["--on-duplicate", "update"], prog_name="crm")
    assert bad.exit_code == 1 and "needs --key FIELD" in bad.stderr
