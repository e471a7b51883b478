"""Leads (线索) and lead pools (线索池): a pool kind of ``pools``, converted into ``customers``.

Other plugins reach leads through the kernel (entities ``leads`` and ``lead_pools``) and the hook
``leads_open_opportunity`` (:mod:`plugins.leads.hookspecs`), which ``pipeline`` implements with
``@hookimpl(optionalhook=True)`` without importing this package. A plugin listing ``"leads"`` in
``REQUIRES`` may import the names below.
"""

from .kind import KIND, MASKABLE
from .options import INVALID_REASONS, SOURCE

__all__ = ["INVALID_REASONS", "KIND", "MASKABLE", "SOURCE"]
