"""Dashboards per role, chosen by admins: which widgets a role's dashboard shows, in which order.

Without a layout a role sees what the plugins decide (a widget's ``roles`` and ``permission``,
see :mod:`kernel.dashboards`). Once an admin saves a layout for a role, that role's dashboard
shows exactly those widgets, in that order; a widget's ``permission`` still applies (a layout
cannot show a user figures their role may not read), and a widget whose plugin is disabled is
left out until it comes back. Removing the layout returns the role to the plugins' choice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from . import audit
from .errors import NotFound, ValidationError
from .models import DashboardLayout, Role

if TYPE_CHECKING:
    from .dashboards import Widget
    from .records import Actor
    from .site import Site

LAYOUTS = DashboardLayout.__table__
MAX_WIDGETS = 60


def registered_widgets(site: Site) -> dict[str, Widget]:
    """Every enabled plugin's widgets, by name, in registration order."""
    return {w.name: w for batch in site.view.pm.hook.register_dashboard_widgets() for w in batch or ()}


def layout_of(site: Site, role: str | None) -> list[str] | None:
    """The widget names an admin chose for ``role``, in order; ``None`` when the plugins decide."""
    if not role:
        return None
    with site.engine.connect() as conn:
        found = conn.scalar(sa.select(LAYOUTS.c.widgets).where(LAYOUTS.c.role == role))
    return list(found) if found is not None else None


def save(site: Site, actor: Actor, role: str, widgets: Any) -> list[str]:
    """Store the layout of ``role`` (a list of widget names, no repeats); audited. Unknown names are a 422."""
    if not isinstance(widgets, list) or len(widgets) > MAX_WIDGETS:
        raise ValidationError.at(["body", "widgets"], f"must be a list of at most {MAX_WIDGETS} widget names")
    known = registered_widgets(site)
    for index, name in enumerate(widgets):
        if not isinstance(name, str) or name not in known:
            raise ValidationError.at(["body", "widgets", index], f"{name!r} is not a widget of an enabled plugin")
    if len(set(widgets)) != len(widgets):
        raise ValidationError.at(["body", "widgets"], "names a widget twice")
    now = site.clock.now()
    with site.write() as conn:
        _check_role(conn, role)
        before = conn.scalar(sa.select(LAYOUTS.c.widgets).where(LAYOUTS.c.role == role))
        values = {"widgets": widgets, "changed_at": now, "changed_by": actor.user_id}
        if before is None:
            conn.execute(sa.insert(LAYOUTS).values(role=role, **values))
        else:
            conn.execute(sa.update(LAYOUTS).where(LAYOUTS.c.role == role).values(**values))
        audit.add_entry(conn, actor, "dashboards", None, "layout", {role: [before, widgets]}, at=now)
    return widgets


def reset(site: Site, actor: Actor, role: str) -> None:
    """Give ``role``'s dashboard back to the plugins' choice; audited."""
    now = site.clock.now()
    with site.write() as conn:
        _check_role(conn, role)
        before = conn.scalar(sa.select(LAYOUTS.c.widgets).where(LAYOUTS.c.role == role))
        if before is not None:
            conn.execute(sa.delete(LAYOUTS).where(LAYOUTS.c.role == role))
            audit.add_entry(conn, actor, "dashboards", None, "layout", {role: [before, None]}, at=now)


def _check_role(conn: sa.Connection, role: str) -> None:
    roles = Role.__table__
    if conn.scalar(sa.select(roles.c.name).where(roles.c.name == role)) is None:
        raise NotFound(f"no role {role!r}", [{"loc": ["path", "role"], "msg": "unknown role"}])
