"""Pool kinds: what another plugin declares to make one of its entities poolable.

A client plugin (``leads``, ``sea``, a deployment's own) returns :class:`PoolKind` objects from
``pools_register_kinds``; the kinds of a disabled plugin vanish with it, because the hook is
asked on the enabled plugins each time (:func:`kinds`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kernel import PluginError

if TYPE_CHECKING:
    from kernel import Entity, Site


@dataclass(frozen=True)
class PoolKind:
    """Records of ``entity`` wait, unowned, in pools (records of ``pool_entity``) until someone holds them.

    ``pool_field`` names the record's pool (kept while the record is owned, so a return knows where
    to go), ``owner_field`` its owner (default: the entity's owner field), ``activity_field`` the
    time of its last activity (a follow-up; ``None``: only the assignment counts), ``level_field``
    the field ``level_overrides`` are keyed by (``None``: no overrides). ``maskable`` lists the
    fields a pool may mask for members until they hold the record (a pool picks among them in
    ``masked_fields``). Whether a record is closed (converted, won — it then stops counting
    against the limit and is never returned) is answered by ``pools_closed_ids``.
    """

    entity: str
    pool_entity: str
    pool_field: str = "pool_id"
    owner_field: str | None = None
    activity_field: str | None = None
    level_field: str | None = None
    maskable: tuple[str, ...] = ()
    plugin: str = field(default="", compare=False)

    def owner(self, entity: Entity) -> str:
        return self.owner_field or entity.owner_field or "owner_id"


def kinds(site: Site) -> dict[str, PoolKind]:
    """The enabled plugins' pool kinds, by pooled entity (only kinds whose entities are enabled)."""
    view = site.view
    found: dict[str, PoolKind] = {}
    for impl in reversed(view.pm.hook.pools_register_kinds.get_hookimpls()):
        for kind in impl.function() or ():
            if not isinstance(kind, PoolKind):
                raise PluginError(f"plugin {impl.plugin_name}: pools_register_kinds must return PoolKind objects")
            if view.entity(kind.entity) is None or view.entity(kind.pool_entity) is None:
                continue
            if kind.entity in found:
                raise PluginError(f"plugin {impl.plugin_name}: {kind.entity} is already pooled by {found[kind.entity].plugin}")
            object.__setattr__(kind, "plugin", impl.plugin_name)
            found[kind.entity] = kind
    return found


def kind_of(site: Site, entity: str) -> PoolKind | None:
    return kinds(site).get(entity)


def kind_of_pool(site: Site, pool_entity: str) -> PoolKind | None:
    """The kind whose pools are records of ``pool_entity``."""
    return next((k for k in kinds(site).values() if k.pool_entity == pool_entity), None)


def check(kind: PoolKind, entities: dict[str, Any]) -> None:
    """Refuse a kind naming fields its entities do not have (at start-up, through the client's registrations)."""
    entity = entities.get(kind.entity)
    if entity is None:
        return
    columns = entity.columns
    for label, name in (("pool_field", kind.pool_field), ("owner_field", kind.owner(entity)), ("activity_field", kind.activity_field),
                        ("level_field", kind.level_field)):
        if name is not None and name not in columns:
            raise PluginError(f"pool kind {kind.entity}: {label} {name!r} is not a column of {kind.entity}")
