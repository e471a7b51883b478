"""Headers other CRMs' exports give customers' and contacts' fields (纷享销客, Zoho, Salesforce,
in Chinese and English), so their files import without a column mapping.

Only headers whose values fit the field as they come: Salesforce's "Account Type"
(customer, partner…) is not our company/individual ``kind``, so it is not listed. An owner
or a customer may be given by name, email or credit code (:data:`NATURAL_KEYS`, and the
kernel's defaults for users: email and name).
"""

from __future__ import annotations

_REACHABLE = {
    "phone": ["联系电话", "电话号码", "公司电话", "办公电话", "座机", "手机", "手机号", "手机号码", "Phone Number", "Telephone", "Tel", "Office Phone", "Mobile", "Mobile Phone"],
    "email": ["电子邮箱", "电子邮件", "邮件", "邮箱地址", "E-mail", "Email Address", "Mail"],
}

SYNONYMS: dict[str, dict[str, list[str]]] = {
    "customers": {
        **_REACHABLE,
        "name": ["客户名称", "公司名称", "名称", "客户名", "客户全称", "企业名称", "单位名称", "公司全称", "Account Name", "Company", "Company Name", "Customer Name", "Account"],
        "source": ["客户来源", "来源渠道", "获客渠道", "Account Source", "Lead Source", "Customer Source"],
        "industry": ["所属行业", "行业类型", "行业分类", "Industry Type"],
        "level": ["客户级别", "客户等级", "等级", "Customer Level", "Account Level", "Tier"],
        "region": ["所在地区", "所属区域", "区域", "省份", "Billing State/Province", "Billing State", "State/Province", "Province"],
        "address": ["详细地址", "公司地址", "联系地址", "办公地址", "Billing Street", "Billing Address", "Street", "Address Line 1"],
        "website": ["公司网址", "网址", "官网", "公司网站", "Web Site", "Homepage", "URL"],
        "credit_code": ["信用代码", "社会信用代码", "统一信用代码", "统一社会信用代码证", "纳税人识别号", "税号", "USCC", "Unified Social Credit Code", "Tax ID", "Tax Number"],
        "status": ["客户状态", "Account Status", "Customer Status"],
        "tags": ["客户标签", "Labels"],
        "owner_id": ["客户负责人", "所有人", "负责人邮箱", "Account Owner", "Owner", "Owner Email"],
    },
    "contacts": {
        **_REACHABLE,
        "name": ["联系人", "联系人姓名", "联系人名称", "Contact Name", "Full Name", "Contact"],
        "title": ["职务", "职位", "岗位", "Job Title", "Position"],
        "wechat": ["微信", "WeChat", "Wechat"],
        "birthday": ["出生日期", "Birthdate", "Date of Birth"],
        "notes": ["描述", "Description"],
        "customer_id": ["客户名称", "所属客户", "公司名称", "客户名", "Account Name", "Account", "Company", "Company Name"],
    },
}


def import_synonyms() -> dict[str, dict[str, list[str]]]:
    return SYNONYMS


#: What names one customer besides its id, in a file that references customers.
NATURAL_KEYS = {"customers": ["name", "credit_code"]}


def natural_keys() -> dict[str, list[str]]:
    return NATURAL_KEYS
