"""Calling a record hook for a batch: the batch form for plugins that implement it, the
single-record form, once per record, for the others.

A plugin that implements ``before_delete_many`` is handed the whole batch and is not also
called through ``before_delete``; a plugin that implements only ``before_delete`` keeps
working, called once per record.
"""

from __future__ import annotations

from typing import Any

import pluggy


def call(pm: pluggy.PluginManager, single: str, many: str, records: list[dict[str, Any]], **kwargs: Any) -> None:
    """Call hook ``many`` with ``records``, then hook ``single`` with ``record=`` each, on the plugins without ``many``."""
    if not records:
        return
    batch = getattr(pm.hook, many)
    batch_plugins = {impl.plugin for impl in batch.get_hookimpls()}
    if batch_plugins:
        batch(records=records, **kwargs)
    one = pm.subset_hook_caller(single, remove_plugins=batch_plugins) if batch_plugins else getattr(pm.hook, single)
    if one.get_hookimpls():
        for record in records:
            one(record=record, **kwargs)
