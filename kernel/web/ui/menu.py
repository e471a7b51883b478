"""The navigation: one entry per enabled entity the user may read, plus plugins' menu items,
grouped in sections that plugins declare.

Both come from the site's current view, so a disabled plugin's entries vanish
with the next request after the view refreshes. A plugin adds entries with
``register_menu_items`` returning dicts::

    {"label": {"en": "Board", "zh_CN": "看板"}, "url": "/r/notes/kanban", "order": 20,
     "permission": "notes.read", "section": "sales"}

and sections with ``register_menu_sections`` (``{"key": "sales", "label": {...}, "order": 10}``).
``section`` is ``"main"`` (default: the unsectioned top of the menu), ``"admin"`` (the
kernel's ``system`` section) or a declared key; an entity names its section with
``Entity(menu_section=…, menu_order=…)``. ``permission`` hides the entry from users who lack
it; ``order`` sorts within a section (entity entries use 100). Ties keep the order entries were
declared in (entities in registration order), never the label's alphabet, so the menu reads the
same in English and in 简体中文.

Admins also get the kernel's admin pages (:data:`ADMIN_PAGES`, sorted by ``order`` 10–89)
in the ``system`` section; a plugin's admin entries sort among them by order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
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
#: the kernel's own section, for its admin pages and plugins' ``"section": "admin"`` entries
SYSTEM = {"key": "system", "label": {"en": "System", "zh_CN": "系统"}, "order": 900}
SECTION_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")

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
    rank: int = 0  # declaration order, the tie-break after ``order``


@dataclass
class MenuSection:
    """A heading of the menu and its entries."""

    key: str
    label: str
    order: int
    items: list[MenuItem] = field(default_factory=list)


def declared_sections(site: Site, locale: str) -> dict[str, MenuSection]:
    """Every section enabled plugins declare (the first declaration of a key wins), and ``system``."""
    found: dict[str, MenuSection] = {}
    for impl in site.view.pm.hook.register_menu_sections.get_hookimpls():
        for raw in impl.function() or ():
            if not isinstance(raw, dict) or not isinstance(raw.get("key"), str) or not SECTION_KEY.match(raw["key"]) or "label" not in raw:
                raise PluginError(f"plugin {impl.plugin_name!r}: a menu section needs a snake_case 'key' and a 'label', got {raw!r}")
            if raw["key"] in SECTIONS or raw["key"] == SYSTEM["key"]:
                raise PluginError(f"plugin {impl.plugin_name!r}: menu section key {raw['key']!r} is the kernel's own")
            found.setdefault(raw["key"], MenuSection(raw["key"], pick(raw["label"], locale), int(raw.get("order", 100))))
    found[SYSTEM["key"]] = MenuSection(SYSTEM["key"], pick(SYSTEM["label"], locale), SYSTEM["order"])
    return found


def _from_hook(raw: Any, plugin: str, locale: str, sections: dict[str, MenuSection], rank: int) -> MenuItem:
    if not isinstance(raw, dict) or not isinstance(raw.get("url"), str) or not raw["url"].startswith("/") or "label" not in raw:
        raise PluginError(f"plugin {plugin!r}: a menu item needs a 'label' and a 'url' starting with '/', got {raw!r}")
    section = raw.get("section", "main")
    if section not in SECTIONS and section not in sections:
        raise PluginError(f"plugin {plugin!r}: menu item section must be one of {', '.join([*SECTIONS, *sections])}")
    return MenuItem(pick(raw["label"], locale), raw["url"], int(raw.get("order", 100)), section, raw["url"], rank)


def build_menu(site: Site, actor: Actor, locale: str) -> dict[str, Any]:
    """The menu for ``actor``: ``{"main": [...], "sections": [MenuSection...], "admin": [...]}``.

    ``main`` holds unsectioned entries, ``sections`` the declared sections that have entries
    (``system`` last, holding what ``admin`` holds), each sorted by order then declaration.
    """
    view = site.view
    sections = declared_sections(site, locale)
    items: list[MenuItem] = []
    for rank, (name, entity) in enumerate(view.entities.items()):
        if name in ADMIN_ENTITIES or not permissions.allowed(site, actor, name, "read"):
            continue
        section = entity.menu_section if entity.menu_section in sections else "main"
        items.append(MenuItem(pick(entity.label_plural, locale, name), f"/r/{name}", entity.menu_order, section, f"/r/{name}", rank))
    rank = len(items) + len(view.entities)
    if permissions.is_admin(actor):
        for url, label, order in ADMIN_PAGES:
            rank += 1
            items.append(MenuItem(pick(label, locale), url, order, "admin", url, rank))
    for impl in view.pm.hook.register_menu_items.get_hookimpls():
        for raw in impl.function() or ():
            required = raw.get("permission") if isinstance(raw, dict) else None
            if required and not permissions.grants(site, actor.role).allows(required):
                continue
            rank += 1
            items.append(_from_hook(raw, impl.plugin_name, locale, sections, rank))
    grouped: dict[str, Any] = {"main": [], "admin": []}
    for item in sorted(items, key=lambda i: (i.order, i.rank)):
        if item.section in SECTIONS:
            grouped[item.section].append(item)
        if item.section != "main":
            sections[SYSTEM["key"] if item.section == "admin" else item.section].items.append(item)
    grouped["sections"] = sorted((s for s in sections.values() if s.items), key=lambda s: (s.order, s.key))
    return grouped
