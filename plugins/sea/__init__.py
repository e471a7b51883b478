"""The public sea (公海): customers of the ``customers`` plugin waiting in seas of the ``pools`` engine.

Public API for other plugins (``pipeline``, ``orders``): implement the hook
``sea_customer_closed_ids`` (:mod:`plugins.sea.hookspecs`), listing ``"sea"`` in ``REQUIRES``.
"""

from .kind import CONTACT_FIELDS, CUSTOMER_FIELDS, KIND

__all__ = ["CONTACT_FIELDS", "CUSTOMER_FIELDS", "KIND"]
