"""Pools (公共池): the ownership engine behind lead pools (线索池) and the public sea (公海).

A plugin makes one of its entities poolable by declaring a :class:`PoolKind` (hook
``pools_register_kinds``) over a pool entity built on :class:`PoolMixin`; see README.md.
Everything below is the public API other plugins (which list ``"pools"`` in ``REQUIRES``) may import.
"""

from .kinds import PoolKind, kind_of, kinds
from .models import LEVEL_RULES, POOL_RULES, STRATEGIES, AssignmentRule, PoolFields, PoolMixin
from .strategies import Strategy

__all__ = [
    "AssignmentRule",
    "kind_of",
    "kinds",
    "LEVEL_RULES",
    "POOL_RULES",
    "PoolFields",
    "PoolKind",
    "PoolMixin",
    "STRATEGIES",
    "Strategy",
]
