"""The navigation: one entry per enabled entity the user may read, plus plugins' menu items.

Both come from the site's current view, so a disabled plugin's entries vanish
with the next request after the view refreshes. A plugin adds entries with
``register_menu_items`` returning dicts::

    {"label": {"en": "Board", "zh_CN": "看板"}, "url": "/r/notes/kanban", "order": 20,
     "permission": "notes.read", "section": "main"}

``section`` is ``"main"`` (default) or ``"admin"``; ``permission`` hides the
entry from users who lack it; ``order`` sorts (entity entries use 100).

Admins also get the kernel's admin pages (:data:`ADMIN_PAGES`, sorted by ``order`` 10–80)
in the ``admin`` section; a plugin's admin entries sort among them by order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...errors import PluginError
from ... import permissions
from ...i18n import pick

if TYPE_CHECKING:
    from ...records import Actor
    from ...site import Site

#: Entities the admin pages manage; they are not repeated in the main menu.
ADMIN_ENTITIES = ("users", "teams", "roles")
SECTIONS = ("main", "admin")

#: The kernel's admin pages, shown to admins only: (url, label, order).
ADMIN_PAGES: tuple[tuple[str, dict[str, str], int], ...] = (
    ("/admin/plugins", {"en": "Plugins", "zh_CN": "插件"}, 10),
    ("/admin/fields", {"en": "Custom fields", "zh_CN": "自定义字段"}, 20),
    ("/admin/users", {"en": "Users", "zh_CN": "用户"}, 30),
    ("/admin/teams", {"en": "Teams", "zh_CN": "团队"}, 40),
    ("/admin/roles", {"en": "Roles & permissions", "zh_CN": "角色与权限"}, 50),
    ("/admin/record-rules", {"en": "Record rules", "zh_CN": "数据范围规则"}, 60),
    ("/admin/audit", {"en": "Audit log", "zh_CN": "审计日志"}, 70),
    ("/admin/settings", {"en": "System settings", "zh_CN": "系统设置"}, 80),
    ("/admin/sequences", {"en": "Numbering sequences", "zh_CN": "编号规则"}, 85),
    ("/admin/states", {"en": "States", "zh_CN": "状态"}, 87),
    ("/admin/dashboards", {"en": "Dashboards", "zh_CN": "仪表盘布局"}, 89),
    ("/admin/option-lists", {"en": "Option lists", "zh_CN": "选项列表"}, 86),
    ("/admin/forms", {"en": "Public forms", "zh_CN": "公开表单"}, 88),
    ("/admin/outbox", {"en": "Event delivery", "zh_CN": "事件投递"}, 90),
)


@dataclass(frozen=True)
class MenuItem:
    label: str
    url: str
    order: int = 100
    section: str = "main"
    key: str = ""


def _from_hook(raw: Any, plugin: str, locale: str) -> MenuItem:
    if not isinstance(raw, dict) or not isinstance(raw.get("url"), str) or not raw["url"].startswith("/") or "label" not in raw:
        raise PluginError(f"plugin {plugin!r}: a menu item needs a 'label' and a 'url' starting with '/', got {raw!r}")
    section = raw.get("section", "main")
    if section not in SECTIONS:
        raise PluginError(f"plugin {plugin!r}: menu item section must be one of {', '.join(SECTIONS)}")
    return MenuItem(pick(raw["label"], locale), raw["url"], int(raw.get("order", 100)), section, raw["url"])


def build_menu(site: Site, actor: Actor, locale: str) -> dict[str, list[MenuItem]]:
    """The menu for ``actor``: ``{"main": [...], "admin": [...]}``, each sorted by order then label."""
    view = site.view
    items: list[MenuItem] = []
    for name, entity in view.entities.items():
        if name in ADMIN_ENTITIES or not permissions.allowed(site, actor, name, "read"):
            continue
        items.append(MenuItem(pick(entity.label_plural, locale, name), f"/r/{name}", 100, "main", f"/r/{name}"))
    if permissions.is_admin(actor):
        items.extend(MenuItem(pick(label, locale), url, order, "admin", url) for url, label, order in ADMIN_PAGES)
    for impl in view.pm.hook.register_menu_items.get_hookimpls():
        for raw in impl.function() or ():
            required = raw.get("permission") if isinstance(raw, dict) else None
            if required and not permissions.grants(site, actor.role).allows(required):
                continue
            items.append(_from_hook(raw, impl.plugin_name, locale))
    grouped: dict[str, list[MenuItem]] = {section: [] for section in SECTIONS}
    for item in sorted(items, key=lambda i: (i.order, i.label)):
        grouped[item.section].append(item)
    return grouped
