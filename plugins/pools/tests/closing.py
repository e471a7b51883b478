"""Helpers of the report and widget tests: closing records."""

from __future__ import annotations

from kernel import Site

from .. import mark_closed
from .conftest import SYSTEM


def close(site: Site, ids: list[int]) -> None:
    """Records got closed (the test plugin's ``closed``), as the closed hook reports them to the engine."""
    with site.write() as conn:
        for record_id in ids:
            site.records.update(SYSTEM, "items", record_id, {"closed": True}, conn=conn)
        mark_closed(site, conn, "items", ids)
