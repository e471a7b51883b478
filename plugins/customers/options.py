"""The option lists behind a customer's level, industry, region and source, with their default options.

Records hold the codes; admins rename, reorder, colour, archive and add options at
``/admin/option-lists`` (see :mod:`kernel.optionlists`). ``customers.region`` is a tree:
provinces (and municipalities) at the top, cities under them.
"""

from __future__ import annotations

from kernel import Option, OptionList


def _options(*rows: tuple[str, str, str] | tuple[str, str, str, str | None]) -> tuple[Option, ...]:
    return tuple(Option(code, {"en": en, "zh_CN": zh}, colour=(rest[0] if rest else None)) for code, en, zh, *rest in rows)


def _cities(parent: str, *rows: tuple[str, str, str]) -> tuple[Option, ...]:
    return tuple(Option(code, {"en": en, "zh_CN": zh}, parent=parent) for code, en, zh in rows)


LEVEL = OptionList(
    "customers.level",
    {"en": "Customer level", "zh_CN": "客户级别"},
    _options(
        ("A", "A – key account", "A 类（重点）", "#d4380d"),
        ("B", "B – important", "B 类（重要）", "#d48806"),
        ("C", "C – regular", "C 类（普通）", "#1677ff"),
        ("D", "D – occasional", "D 类（一般）", "#8c8c8c"),
    ),
)

INDUSTRY = OptionList(
    "customers.industry",
    {"en": "Industry", "zh_CN": "行业"},
    _options(
        ("software", "Software", "软件"),
        ("internet", "Internet", "互联网"),
        ("manufacturing", "Manufacturing", "制造"),
        ("retail", "Retail", "零售"),
        ("wholesale", "Wholesale & trade", "批发贸易"),
        ("finance", "Finance", "金融"),
        ("education", "Education", "教育"),
        ("healthcare", "Healthcare", "医疗健康"),
        ("logistics", "Logistics", "物流"),
        ("construction", "Construction & real estate", "建筑地产"),
        ("energy", "Energy", "能源"),
        ("government", "Government & public sector", "政府及公共事业"),
        ("media", "Media & advertising", "传媒广告"),
        ("other", "Other", "其他"),
    ),
)

#: China's provincial-level divisions, then abroad; a few cities under their province.
REGION = OptionList(
    "customers.region",
    {"en": "Region", "zh_CN": "地区"},
    (
        *_options(
            ("beijing", "Beijing", "北京"), ("tianjin", "Tianjin", "天津"), ("shanghai", "Shanghai", "上海"),
            ("chongqing", "Chongqing", "重庆"), ("hebei", "Hebei", "河北"), ("shanxi", "Shanxi", "山西"),
            ("liaoning", "Liaoning", "辽宁"), ("jilin", "Jilin", "吉林"), ("heilongjiang", "Heilongjiang", "黑龙江"),
            ("jiangsu", "Jiangsu", "江苏"), ("zhejiang", "Zhejiang", "浙江"), ("anhui", "Anhui", "安徽"),
            ("fujian", "Fujian", "福建"), ("jiangxi", "Jiangxi", "江西"), ("shandong", "Shandong", "山东"),
            ("henan", "Henan", "河南"), ("hubei", "Hubei", "湖北"), ("hunan", "Hunan", "湖南"),
            ("guangdong", "Guangdong", "广东"), ("hainan", "Hainan", "海南"), ("sichuan", "Sichuan", "四川"),
            ("guizhou", "Guizhou", "贵州"), ("yunnan", "Yunnan", "云南"), ("shaanxi", "Shaanxi", "陕西"),
            ("gansu", "Gansu", "甘肃"), ("qinghai", "Qinghai", "青海"), ("neimenggu", "Inner Mongolia", "内蒙古"),
            ("guangxi", "Guangxi", "广西"), ("xizang", "Tibet", "西藏"), ("ningxia", "Ningxia", "宁夏"),
            ("xinjiang", "Xinjiang", "新疆"), ("hongkong", "Hong Kong", "香港"), ("macau", "Macau", "澳门"),
            ("taiwan", "Taiwan", "台湾"), ("overseas", "Outside China", "海外"),
        ),
        *_cities("zhejiang", ("hangzhou", "Hangzhou", "杭州"), ("ningbo", "Ningbo", "宁波")),
        *_cities("guangdong", ("guangzhou", "Guangzhou", "广州"), ("shenzhen", "Shenzhen", "深圳")),
        *_cities("jiangsu", ("nanjing", "Nanjing", "南京"), ("suzhou", "Suzhou", "苏州")),
        *_cities("sichuan", ("chengdu", "Chengdu", "成都")),
    ),
    tree=True,
)

SOURCE = OptionList(
    "customers.source",
    {"en": "Customer source", "zh_CN": "客户来源"},
    _options(
        ("website", "Website", "官网"),
        ("exhibition", "Trade show", "展会"),
        ("referral", "Referral", "老客户推荐"),
        ("cold_call", "Cold call", "陌生拜访"),
        ("wechat", "WeChat", "微信"),
        ("advertising", "Advertising", "广告"),
        ("partner", "Partner", "合作伙伴"),
        ("inbound_call", "Inbound call", "来电咨询"),
        ("other", "Other", "其他"),
    ),
)

OPTION_LISTS = (LEVEL, INDUSTRY, REGION, SOURCE)


def option_lists() -> list[OptionList]:
    return list(OPTION_LISTS)
