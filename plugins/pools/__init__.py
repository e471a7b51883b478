"""Pools (公共池): the ownership engine behind lead pools (线索池) and the public sea (公海).

A plugin makes one of its entities poolable by declaring a :class:`PoolKind` (hook
``pools_register_kinds``) over a pool entity built on :class:`PoolMixin`, and handing the kind to
:func:`entity_actions`, :func:`masks` and :func:`timers`; see README.md.
Everything below is the public API other plugins (which list ``"pools"`` in ``REQUIRES``) may import.
"""

from .kinds import PoolKind, kind_of, kinds
from .models import LEVEL_RULES, POOL_RULES, STRATEGIES, AssignmentRule, PoolFields, PoolMixin
from .operations import assign, claim, release, release_reason, transfer
from .registration import ClaimBody, PoolAssignBody, ReleaseBody, entity_actions, masks, timers
from .returns import closed_ids, deadlines_of, mark_closed, reconcile
from .rules import Rules, effective, is_admin, is_member, members
from .strategies import Strategy, place, strategies

__all__ = [
    "assign",
    "AssignmentRule",
    "claim",
    "ClaimBody",
    "closed_ids",
    "deadlines_of",
    "effective",
    "entity_actions",
    "is_admin",
    "is_member",
    "kind_of",
    "kinds",
    "LEVEL_RULES",
    "mark_closed",
    "masks",
    "members",
    "place",
    "POOL_RULES",
    "PoolAssignBody",
    "PoolFields",
    "PoolKind",
    "PoolMixin",
    "reconcile",
    "release",
    "release_reason",
    "ReleaseBody",
    "Rules",
    "STRATEGIES",
    "strategies",
    "Strategy",
    "timers",
    "transfer",
]
