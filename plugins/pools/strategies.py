"""Assignment strategies: who gets records entering a pool (created, imported, returned)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Strategy:
    """A way to choose owners: ``choose(site=, conn=, kind=, pool=, records=, members=)`` returns one
    owner id (or ``None``: stays in the pool) per record, in order. ``members`` are the pool's members
    who may take records now (active, under their limit when the strategy asked for them)."""

    name: str
    label: dict[str, str]
    choose: Callable[..., list[int | None]]
    plugin: str = field(default="", compare=False)

