"""level, industry, region and source become option-list codes (kernel.optionlists)

Today's free text is mapped: a value equal to an option's code or label (case and spaces
ignored: "Shanghai", "上海", " shanghai ") becomes that option's code; every other distinct
value becomes a new option flagged for an admin to merge or keep (/admin/option-lists).

Revision ID: 6b1f0e2d4c17
Revises: 139474bfd05f
Create Date: 2026-12-01 22:00:00
"""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

from kernel import convert_free_text
from plugins.customers.options import INDUSTRY, LEVEL, REGION, SOURCE

revision = '6b1f0e2d4c17'
down_revision = '139474bfd05f'
branch_labels = None
depends_on = None  # kernel_options comes from core, which is always upgraded first (kernel.migrations.upgrade)


def upgrade() -> None:
    conn = op.get_bind()
    now = datetime.now(timezone.utc)
    for column, listed in (("level", LEVEL), ("industry", INDUSTRY), ("region", REGION), ("source", SOURCE)):
        convert_free_text(conn, "customers_customers", column, listed, now=now)
    conn.execute(sa.text("UPDATE kernel_versions SET value = value + 1 WHERE name = 'registry'"))  # every process re-reads the lists


def downgrade() -> None:
    pass  # codes are valid free text: nothing to undo
