"""A pool's rules checked on every write path (API, form, import): a known strategy, masked fields the kind
allows, level overrides naming rules."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kernel import ValidationError

from .kinds import kind_of_pool
from .models import LEVEL_RULES
from .strategies import strategies

if TYPE_CHECKING:
    from kernel import Site


def check_pool(site: Site, entity: str, values: dict[str, Any]) -> None:
    kind = kind_of_pool(site, entity)
    if kind is None:
        return
    assignment = values.get("assignment", "manual")
    known = strategies(site)
    if assignment not in known:
        raise ValidationError.at(["assignment"], f"must be one of {', '.join(known)}")
    for index, name in enumerate(values.get("masked_fields") or ()):
        if name not in kind.maskable:
            raise ValidationError.at(["masked_fields", index], f"must be one of {', '.join(kind.maskable) or '(none)'}")
    for level, overrides in (values.get("level_overrides") or {}).items():
        for name, value in (overrides or {}).items():
            if name not in LEVEL_RULES:
                raise ValidationError.at(["level_overrides", level, name], f"must be one of {', '.join(LEVEL_RULES)}")
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise ValidationError.at(["level_overrides", level, name], "must be a whole number ≥ 0, or null")
    for index, line in enumerate(values.get("assignment_rules") or ()):
        field = line.get("field", "") if isinstance(line, dict) else ""
        if not field.startswith("custom.") and field not in site.view.entities[kind.entity].columns:
            raise ValidationError.at(["assignment_rules", index, "field"], f"{kind.entity} has no field {field!r}")
