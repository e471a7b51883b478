"""The ``seas`` entity, its menu entries and permissions."""

from __future__ import annotations

from typing import Any

from kernel import Entity
from plugins.pools import PoolFields

from .models import Sea


def entities() -> list[Entity]:
    return [Entity("seas", {"en": "Public sea", "zh_CN": "公海"}, {"en": "Sea settings", "zh_CN": "公海设置"}, Sea, PoolFields, menu_section="customers",
                   menu_order=40)]


def permissions() -> list[dict[str, Any]]:
    """Seas are set up by admins; members read the seas they belong to (the plugin's record filter)."""
    return [
        {"name": "seas.read", "label": {"en": "Public seas: read", "zh_CN": "公海：查看"}, "roles": ["sales_manager", "sales_rep"]},
    ]


def menu_items() -> list[dict[str, Any]]:
    """The customers' section: the seas (the pools' generic pages) and my customers with their deadlines."""
    return [
        {"label": {"en": "Public sea", "zh_CN": "公海"}, "url": "/p/pools/?entity=customers", "order": 30, "section": "customers"},
        {"label": {"en": "My sea customers", "zh_CN": "我的公海客户"}, "url": "/p/pools/holdings?entity=customers", "order": 31, "section": "customers"},
        {"label": {"en": "Move customers into a sea", "zh_CN": "移入公海"}, "url": "/p/sea/move", "order": 32, "section": "customers",
         "permission": "seas.update"},
    ]
