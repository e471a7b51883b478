"""Opportunities (商机) and their sales pipelines (销售流程).

Public API for plugins that list ``"pipeline"`` in ``REQUIRES``: the stage kinds, a pipeline's
stages (the kernel's states with this plugin's rules) and the default pipeline. Plugins that do
not require it talk to it through hooks: ``pipeline_outcome_changed`` (:mod:`plugins.pipeline.hookspecs`),
and the hooks it implements (``leads_open_opportunity``, ``sea_customer_closed_ids``).
"""

from .stages import KERNEL_KIND, KINDS, Stage, default_pipeline_id, ensure_default_pipeline, stages_of

__all__ = ["default_pipeline_id", "ensure_default_pipeline", "KERNEL_KIND", "KINDS", "Stage", "stages_of"]
